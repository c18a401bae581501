"""Reads of the psychophysics app: a participant's state, the stored trials and the analysis."""

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, Q, QuerySet

from clickme_site.errors import NotFound

from . import analysis
from .models import Experiment, ObserverResponse, ObserverRun, Participant, Trial

SESSION_KEY = "psychophysics_participants"
# A participant's session, or the plain dict the simulated participants keep in its place.
Session = SessionBase | dict[str, Any]


def session_participant_id(session: Session, experiment: Experiment) -> int | None:
    """The id of the participant this session joined `experiment` as (None: not joined)."""
    return (session.get(SESSION_KEY) or {}).get(str(experiment.pk))


UPCOMING = 3  # trials whose stimuli the page may load ahead
CHANCE = 0.5


def experiment_by_slug(slug: str, *, include_drafts: bool = False) -> Experiment:
    experiments = Experiment.objects.all() if include_drafts else Experiment.objects.exclude(status="draft")
    experiment = experiments.filter(slug=slug).first()
    if experiment is None:
        raise NotFound("no such experiment", "not_found")
    return experiment


RESUME_CODE_LENGTH = 10  # base32 characters: 50 bits, shown as two groups of five


def participant_resume_code(participant: Participant) -> str | None:
    """The code, shown only in the browser a crowd participant started in, that lets them resume in
    another browser with their crowd id (knowing a PROLIFIC_PID alone takes over nobody's run); None for
    a participant without a crowd id (no other browser can find them). A keyed hash of the participant's
    random id: stored nowhere, the same on every page load."""
    if not participant.external_id_hash:
        return None
    salt = settings.CLICKME_PSYCHOPHYSICS["ID_HASH_SALT"].encode()
    digest = hmac.new(salt, f"resume:{participant.public_id}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:RESUME_CODE_LENGTH]
    return f"{code[:5]}-{code[5:]}"


def resume_code_matches(participant: Participant, given: str) -> bool:
    """Whether `given` is the participant's resume code (case, spaces and hyphens aside)."""
    code = participant_resume_code(participant)
    typed = "".join(given.split()).replace("-", "").upper()
    return code is not None and bool(typed) and hmac.compare_digest(code.replace("-", ""), typed)


def participant_of_session(session: Session, experiment: Experiment) -> Participant | None:
    participant_id = session_participant_id(session, experiment)
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id, experiment=experiment).first()


def participant_state(participant: Participant, experiment: Experiment) -> dict:
    """Where the participant stands and the next trials to show (ids and file URLs, no answers)."""
    counts = participant.trials.aggregate(
        n_practice=Count("id", filter=Q(phase=Trial.Phase.PRACTICE)),
        n_main=Count("id", filter=Q(phase=Trial.Phase.MAIN)),
        practice_done=Count("id", filter=Q(phase=Trial.Phase.PRACTICE, responded_at__isnull=False)),
        main_done=Count("id", filter=Q(phase=Trial.Phase.MAIN, responded_at__isnull=False)),
    )
    upcoming = list(
        participant.trials.filter(index__gte=participant.next_index)
        .order_by("index")
        .values("id", "index", "phase")[:UPCOMING]
    )
    base = f"/api/experiments/{experiment.slug}/trials"
    completed = participant.completed_at is not None
    return {
        "participant_id": str(participant.public_id),
        "phase": "completed" if completed else upcoming[0]["phase"],
        **counts,
        "trials": [
            {**t, "stimulus_url": f"{base}/{t['id']}/stimulus.png", "mask_url": f"{base}/{t['id']}/mask.png"}
            for t in upcoming
        ],
        "completion_code": experiment.completion_code if completed else None,
        "completion_url": (experiment.completion_url or None) if completed else None,
        "resume_code": None if completed else participant_resume_code(participant),
    }


def trial_files(*, participant_id: int, trial_id: int) -> tuple[str, str]:
    """(stimulus path, mask path) under PRIVATE_ROOT of one of the participant's own trials."""
    row = (
        Trial.objects.filter(pk=trial_id, participant_id=participant_id)
        .values_list("stimulus__file", "mask__file")
        .first()
    )
    if row is None:
        raise NotFound("no such trial for this participant", "not_found")
    return row


def experiment_public(experiment: Experiment) -> dict:
    """What the participant's page needs to know (no answers, no images)."""
    return {
        "slug": experiment.slug,
        "title": experiment.title,
        "status": experiment.status,
        "consent_text": experiment.consent_text,
        "instructions": experiment.instructions,
        "choices": [
            {"label": experiment.choice_a_label, "key": experiment.choice_a_key},
            {"label": experiment.choice_b_label, "key": experiment.choice_b_key},
        ],
        "fixation_ms": experiment.fixation_ms,
        "stimulus_ms": experiment.stimulus_ms,
        "mask_ms": experiment.mask_ms,
        "response_window_ms": experiment.response_window_ms,
        "n_trials": experiment.n_trials,
        "n_practice": experiment.n_practice,
        "trials_per_block": experiment.trials_per_block,
        "display_size_px": experiment.display_size_px,
    }


def _human_timing(trials: QuerySet[Trial]) -> dict:
    rows = list(trials.values_list("requested_frames", "shown_frames", "shown_stimulus_ms", "frame_interval_ms"))
    if not rows:
        return {"n_trials": 0, "frames_as_requested": None, "median_shown_ms": None, "median_frame_interval_ms": None}
    requested, shown, shown_ms, interval = (np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))
    return {
        "n_trials": len(rows),
        "frames_as_requested": float(np.mean(requested == shown)),
        "median_shown_ms": float(np.nanmedian(shown_ms)),
        "median_frame_interval_ms": float(np.nanmedian(interval)),
    }


def answered_main_trials(experiment: Experiment) -> QuerySet[Trial]:
    return Trial.objects.filter(participant__experiment=experiment, phase=Trial.Phase.MAIN, responded_at__isnull=False)


def human_results(experiment: Experiment, *, n_boot: int, seed: int = 0) -> dict:
    trials = answered_main_trials(experiment)
    rows = list(trials.values_list("source", "level_pct", "is_correct", "participant_id", "timed_out"))
    sources, levels, correct, participants, timed_out = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 5
    )
    curves = analysis.accuracy_curves(
        sources=sources,
        levels=levels,
        correct=correct,
        clusters=participants,
        source_order=experiment.feature_sources,
        level_order=sorted(experiment.reveal_levels),
        n_boot=n_boot,
        seed=seed,
    )
    return {
        "n_participants": len(set(participants)),
        "n_completed": experiment.participants.filter(completed_at__isnull=False).count(),
        "n_trials": len(rows),
        "timeout_rate": float(np.mean(timed_out)) if rows else None,
        "curves": curves["curves"],
        "difference": curves["difference"],
        "timing": _human_timing(trials),
    }


def observer_results(run: ObserverRun, experiment: Experiment, *, n_boot: int, seed: int = 0) -> dict:
    main_images = set(experiment.images.values_list("id", flat=True))
    rows = [
        row
        for row in ObserverResponse.objects.filter(run=run).values_list(
            "stimulus__source", "stimulus__level_pct", "is_correct", "stimulus__image_id"
        )
        if row[3] in main_images
    ]
    sources, levels, correct, images = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 4
    curves = analysis.accuracy_curves(
        sources=sources,
        levels=levels,
        correct=correct,
        clusters=images,
        source_order=experiment.feature_sources,
        level_order=sorted(experiment.reveal_levels),
        n_boot=n_boot,
        seed=seed,
    )
    return {
        **observer_summary(run, experiment),
        "n_images": len(set(images)),
        "curves": curves["curves"],
        "difference": curves["difference"],
    }


def observer_summary(run: ObserverRun, experiment: Experiment) -> dict:
    return {
        "id": run.pk,
        "partner": run.partner_name,
        "partner_id": run.partner_id,
        "status": run.status,
        "n_stimuli": run.n_stimuli,
        "current": run.stimuli_fingerprint == experiment.stimuli_fingerprint,
        "error": run.error,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def experiment_results(experiment: Experiment, *, n_boot: int = analysis.DEFAULT_N_BOOT) -> dict:
    """The analysis of docs/SCIENCE.md section 6: people's curves, and each model observer's beside them."""
    observers = []
    for run in experiment.observer_runs.order_by("created_at"):
        if run.status == ObserverRun.Status.DONE and run.stimuli_fingerprint == experiment.stimuli_fingerprint:
            observers.append(observer_results(run, experiment, n_boot=n_boot))
        else:
            observers.append(observer_summary(run, experiment))
    return {
        "experiment": experiment.slug,
        "title": experiment.title,
        "status": experiment.status,
        "choices": [experiment.choice_a_label, experiment.choice_b_label],
        "sources": list(experiment.feature_sources),
        "levels": sorted(experiment.reveal_levels),
        "chance": CHANCE,
        "n_boot": n_boot,
        "bootstrap": (
            "percentile 95% intervals; people resampled by participant, observers by image; "
            "Wilson score intervals where every trial of a cell is right or every one wrong"
        ),
        "humans": human_results(experiment, n_boot=n_boot),
        "observers": observers,
    }


def trials_export(experiment: Experiment, *, phase: str | None = None) -> Iterator[dict]:
    """Every stored trial (answered or not) as one flat record, in participant then trial order."""
    trials = Trial.objects.filter(participant__experiment=experiment)
    if phase:
        trials = trials.filter(phase=phase)
    columns = (
        "participant__public_id", "participant__group", "index", "phase", "image_id", "image__source_name",
        "image__category_id", "source", "level_pct", "condition", "stimulus__sha256", "mask__index", "correct_key",
        "response_key",
        "timed_out", "is_correct", "rt_ms", "requested_stimulus_ms", "requested_frames", "shown_frames",
        "shown_stimulus_ms", "frame_interval_ms", "timing", "responded_at",
    )  # fmt: skip
    for row in trials.order_by("participant_id", "index").values_list(*columns).iterator(chunk_size=2000):
        record = dict(zip(columns, row, strict=True))
        yield {
            "participant": str(record.pop("participant__public_id")),
            "group": record.pop("participant__group"),
            "source_name": record.pop("image__source_name"),
            "category_id": record.pop("image__category_id"),
            "stimulus_sha256": record.pop("stimulus__sha256"),
            "mask_index": record.pop("mask__index"),
            **record,
            "response_key": record["response_key"] or None,
            "responded_at": record["responded_at"].isoformat() if record["responded_at"] else None,
        }


def experiments_with_counts() -> QuerySet[Experiment]:
    return Experiment.objects.annotate(
        n_participants=Count("participants", distinct=True),
        n_completed=Count("participants", filter=Q(participants__completed_at__isnull=False), distinct=True),
    ).order_by("-created_at")
