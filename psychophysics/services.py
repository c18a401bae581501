"""Writes of the experiment's participants: joining (with a balanced condition assignment) and one
answer per trial, in order, while the experiment is open (HackSoft-style services)."""

import hashlib
import hmac
import math
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clickme_site.errors import Conflict, NotFound, ServiceError
from game.models import Image

from . import design
from .experiments import answer_index
from .models import Experiment, NoiseMask, Participant, Trial
from .selectors import SESSION_KEY, Session, resume_code_matches, session_participant_id

PLATFORMS = ("prolific", "mturk", "other")
RT_SLACK_MS = 1000  # frame rounding and a slow display may stretch the window a little
# How far the stimulus's measured duration may stray from shown_frames x frame_interval_ms
# (docs/SCIENCE.md section 6, "Stimulus timing"): later by dropped vsyncs and a hiccup (the sequencer ends the
# phase on time with fewer callbacks), earlier only by rAF jitter and performance.now()'s coarsening.
LATE_FRAMES, LATE_MIN_MS = 3, 50.0
EARLY_FRAMES, EARLY_MS = 0.5, 5.0


@dataclass(frozen=True)
class TrialAnswer:
    """What the page reports at the end of a trial (checked for types by the API's serializer)."""

    key: str | None
    rt_ms: float | None
    requested_frames: int
    shown_frames: int
    shown_stimulus_ms: float
    frame_interval_ms: float
    timing: dict


def external_id_hash(platform: str, external_id: str) -> str:
    salt = settings.CLICKME_PSYCHOPHYSICS["ID_HASH_SALT"].encode()
    return hmac.new(salt, f"{platform}:{external_id}".encode(), hashlib.sha256).hexdigest()


def _bind(session: Session, experiment: Experiment, participant: Participant) -> None:
    bound = dict(session.get(SESSION_KEY) or {})
    bound[str(experiment.pk)] = participant.pk
    session[SESSION_KEY] = bound


def _group_counts(experiment: Experiment, n_groups: int) -> list[tuple[int, int]]:
    counts = [[0, 0] for _ in range(n_groups)]
    for group, completed_at in experiment.participants.values_list("group", "completed_at"):
        if group < n_groups:
            counts[group][1] += 1
            counts[group][0] += completed_at is not None
    return [(done, started) for done, started in counts]


def _plan(experiment: Experiment, participant: Participant, seed: int) -> list[Trial]:
    """The participant's trials: practice first, then the main block of their Latin-square group."""
    sources, levels = experiment.feature_sources, sorted(experiment.reveal_levels)
    cells = design.conditions(sources, levels)
    categories_a = set(experiment.choice_a_categories.values_list("id", flat=True))
    categories_b = set(experiment.choice_b_categories.values_list("id", flat=True))
    keys = experiment.keys
    stimuli = {(s.image_id, s.source, s.level_pct): s for s in experiment.stimuli.all()}
    masks = list(NoiseMask.objects.filter(experiment=experiment).order_by("index"))
    if not masks:
        raise Conflict("the experiment has no masks: generate its stimuli", "stimuli_not_ready")
    rng = np.random.default_rng(seed)
    trials: list[Trial] = []

    def answer_of(category_id: int) -> int:
        index = answer_index(category_id, categories_a, categories_b)
        if index is None:  # design_check refuses such images before the experiment opens
            raise Conflict(f"category {category_id} is in neither choice", "invalid_design")
        return index

    def add(image: Image, source: str, level: int, phase: str, condition: int | None = None) -> None:
        stimulus = stimuli.get((image.pk, source, level))
        if stimulus is None:
            raise Conflict(f"no stimulus for image {image.pk} {source} {level}%: generate again", "stimuli_not_ready")
        trials.append(
            Trial(
                participant=participant,
                index=len(trials),
                phase=phase,
                stimulus=stimulus,
                mask=masks[int(rng.integers(len(masks)))],
                image_id=image.pk,
                source=source,
                level_pct=level,
                correct_key=keys[answer_of(image.category_id)],
                condition=condition,
                requested_stimulus_ms=experiment.stimulus_ms,
            )
        )

    practice = list(experiment.practice_images.order_by("id"))
    for position, cell in design.practice_plan(
        n_images=len(practice), n_practice=experiment.n_practice, sources=sources, levels=levels, seed=seed
    ):
        add(practice[position], cell.source, cell.level_pct, Trial.Phase.PRACTICE)
    images = list(experiment.images.order_by("id"))
    answers = [answer_of(image.category_id) for image in images]
    for planned in design.participant_plan(
        answers=answers,
        n_conditions=len(cells),
        group=participant.group,
        replicate=participant.replicate,
        n_trials=experiment.n_trials,
        seed=seed,
    ):
        cell = cells[planned.condition]
        add(images[planned.image_position], cell.source, cell.level_pct, Trial.Phase.MAIN, planned.condition)
    return trials


def participant_join(
    *,
    experiment: Experiment,
    session: Session,
    consent: bool,
    platform: str = "",
    external_id: str = "",
    user_agent: str = "",
    screen_width: int | None = None,
    screen_height: int | None = None,
    device_pixel_ratio: float | None = None,
    resume_code: str = "",
) -> tuple[Participant, bool]:
    """The session's participant of `experiment`: the one it has (a reload resumes), the one of the
    same crowd-platform id when `resume_code` is the code shown in the browser that started it
    (409 started_elsewhere otherwise: a crowd id is no secret, so it alone takes over no run; 409
    already_completed when that one has finished: no repeats), or a new one in the least filled
    Latin-square group with all their trials planned. Returns (participant, created).
    Locks the experiment row while assigning the group."""
    known_id = session_participant_id(session, experiment)
    if known_id is not None:
        known = Participant.objects.filter(pk=known_id, experiment=experiment).first()
        if known is not None:
            return known, False
    if experiment.status != Experiment.Status.OPEN:
        raise Conflict("this experiment is not taking participants", "experiment_closed")
    if consent is not True:
        raise ServiceError("consent: participants must agree before they start", "consent_required")
    if platform and platform not in PLATFORMS:
        raise ServiceError(f"platform: one of {list(PLATFORMS)}", "invalid")
    id_hash = external_id_hash(platform or "other", external_id) if external_id else ""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status != Experiment.Status.OPEN:
            raise Conflict("this experiment is not taking participants", "experiment_closed")
        if id_hash:
            same = Participant.objects.filter(experiment=experiment, external_id_hash=id_hash).first()
            if same is not None:
                if same.completed_at is not None:
                    raise Conflict("this participant has already completed the experiment", "already_completed")
                if not resume_code_matches(same, resume_code):
                    detail = (
                        "the resume code does not match"
                        if resume_code
                        else "this study was started in another browser: continue there, or enter the resume code shown there"
                    )
                    raise Conflict(detail, "started_elsewhere")
                _bind(session, experiment, same)
                return same, False
        n_groups = len(experiment.feature_sources) * len(experiment.reveal_levels)
        counts = _group_counts(experiment, n_groups)
        group = design.least_filled_group(counts)
        now = timezone.now()
        participant = Participant(
            experiment=experiment,
            group=group,
            replicate=counts[group][1],
            platform=platform if external_id else "",
            external_id_hash=id_hash,
            n_trials=0,
            consented_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:400],
            screen_width=screen_width,
            screen_height=screen_height,
            device_pixel_ratio=device_pixel_ratio,
        )
        trials = _plan(experiment, participant, seed=participant.public_id.int % 2**32)
        participant.n_trials = len(trials)
        participant.save()
        Trial.objects.bulk_create(trials)
    _bind(session, experiment, participant)
    return participant, True


def _check_stimulus_timing(answer: TrialAnswer) -> None:
    """The reported duration agrees with the frames the page counted at its frame interval."""
    expected = answer.shown_frames * answer.frame_interval_ms
    earliest = expected - EARLY_FRAMES * answer.frame_interval_ms - EARLY_MS
    latest = expected + max(LATE_FRAMES * answer.frame_interval_ms, LATE_MIN_MS)
    if not (math.isfinite(answer.shown_stimulus_ms) and earliest <= answer.shown_stimulus_ms <= latest):
        raise ServiceError(
            f"shown_stimulus_ms: {answer.shown_stimulus_ms:g} ms does not fit {answer.shown_frames} frames of "
            f"{answer.frame_interval_ms:g} ms (from {max(earliest, 0):.1f} to {latest:.1f} ms)",
            "inconsistent_timing",
        )


def _check_answer(experiment: Experiment, answer: TrialAnswer) -> None:
    """The rules that depend on the experiment: the keys and the response window."""
    if answer.key is not None and answer.key not in experiment.keys:
        raise ServiceError(
            f"key: {answer.key!r} is not one of the experiment's keys {list(experiment.keys)}", "invalid_key"
        )
    if (answer.key is None) != (answer.rt_ms is None):
        raise ServiceError("rt_ms: required with a key, null without one", "invalid")
    _check_stimulus_timing(answer)
    longest = experiment.stimulus_ms + experiment.mask_ms + experiment.response_window_ms + RT_SLACK_MS
    if answer.rt_ms is not None and not (math.isfinite(answer.rt_ms) and 0 <= answer.rt_ms <= longest):
        raise ServiceError(f"rt_ms: must be from 0 to {longest} ms after stimulus onset", "invalid")


def trial_answer(*, participant_id: int, trial_id: int, answer: TrialAnswer) -> tuple[Trial, Participant]:
    """Store the answer of the participant's next trial. Refused, with nothing stored, when the trial
    is not theirs (404), already answered or not the next one (409), or the experiment is closed
    (409). Locks the participant row, so two posts of one trial are applied one after the other."""
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update(of=("self",))
            .select_related("experiment")
            .filter(pk=participant_id)
            .first()
        )
        if participant is None:
            raise NotFound("no such participant", "not_found")
        experiment = participant.experiment
        trial = participant.trials.filter(pk=trial_id).first()
        if trial is None:
            raise NotFound("no such trial for this participant", "not_found")
        if experiment.status != Experiment.Status.OPEN:
            raise Conflict("this experiment is closed", "experiment_closed")
        if trial.responded_at is not None:
            raise Conflict("this trial is already answered", "already_answered")
        if trial.index != participant.next_index:
            raise Conflict(f"trial {trial.index} answered before trial {participant.next_index}", "out_of_order")
        _check_answer(experiment, answer)
        now = timezone.now()
        trial.responded_at = now
        trial.response_key = answer.key or ""
        trial.timed_out = answer.key is None
        trial.is_correct = answer.key == trial.correct_key
        trial.rt_ms = answer.rt_ms
        trial.requested_frames = answer.requested_frames
        trial.shown_frames = answer.shown_frames
        trial.shown_stimulus_ms = answer.shown_stimulus_ms
        trial.frame_interval_ms = answer.frame_interval_ms
        trial.timing = answer.timing
        trial.save()
        participant.next_index += 1
        participant.last_seen_at = now
        fields = ["next_index", "last_seen_at"]
        if participant.next_index >= participant.n_trials:
            participant.completed_at = now
            fields.append("completed_at")
        participant.save(update_fields=fields)
    return trial, participant
