"""python manage.py simulate_participants --experiment SLUG --n N: participants with known accuracies."""

import uuid

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from psychophysics.models import Trial
from psychophysics.selectors import experiment_by_slug
from psychophysics.simulated_participants import (
    DEFAULT_LAPSE,
    DEFAULT_SCALES,
    HttpTransport,
    ServiceTransport,
    participant_simulate,
    true_accuracy,
)


def truth_of(trial_id: int) -> tuple[str, int, str, str]:
    trial = Trial.objects.select_related("participant__experiment").get(pk=trial_id)
    keys = trial.participant.experiment.keys
    return trial.source, trial.level_pct, trial.correct_key, keys[1] if trial.correct_key == keys[0] else keys[0]


class Command(BaseCommand):
    help = (
        "Simulated participants join the experiment and answer every trial, correct with probability "
        "0.5 + (0.5 - lapse) * (1 - exp(-level / scale[source])); through a running server's HTTP API "
        "with --base-url, else through the services in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--experiment", required=True, help="the experiment's slug")
        parser.add_argument("--n", type=int, required=True, help="participants")
        parser.add_argument("--base-url", default="", help="e.g. http://127.0.0.1:8000 (default: in-process)")
        parser.add_argument("--clickme-scale", type=float, default=DEFAULT_SCALES["clickme"])
        parser.add_argument("--saliency-scale", type=float, default=DEFAULT_SCALES["saliency"])
        parser.add_argument("--lapse", type=float, default=DEFAULT_LAPSE)
        parser.add_argument("--prolific", action="store_true", help="give each participant a PROLIFIC_PID")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, experiment, n, base_url, clickme_scale, saliency_scale, lapse, prolific, seed, **options):
        if n < 1:
            raise CommandError("--n must be at least 1")
        if not 0 <= lapse < 0.5 or clickme_scale <= 0 or saliency_scale <= 0:
            raise CommandError("--lapse must be in [0, 0.5) and the scales positive")
        try:
            the_experiment = experiment_by_slug(experiment)
        except Exception as error:
            raise CommandError(f"no open or closed experiment {experiment!r}") from error
        scales = {"clickme": clickme_scale, "saliency": saliency_scale}
        rng = np.random.default_rng(seed)
        answered = 0
        for index in range(n):
            transport = HttpTransport(base_url, experiment) if base_url else ServiceTransport(experiment)
            try:
                _done, count = participant_simulate(
                    transport,
                    truth_of=truth_of,
                    rng=np.random.default_rng(rng.integers(2**32)),
                    scales=scales,
                    lapse=lapse,
                    stimulus_ms=the_experiment.stimulus_ms,
                    external_id=f"sim{uuid.uuid4().hex[:20]}" if prolific else None,
                )
            except RuntimeError as error:
                raise CommandError(f"participant {index + 1}: {error}") from error
            answered += count
        self.stdout.write(f"{n} simulated participants answered {answered} trials")
        levels = sorted(the_experiment.reveal_levels)
        for source in the_experiment.feature_sources:
            truth = " ".join(f"{level}%:{true_accuracy(source, level, scales, lapse):.3f}" for level in levels)
            self.stdout.write(f"true accuracy, {source}: {truth}")
