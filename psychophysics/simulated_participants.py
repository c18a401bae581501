"""Simulated participants: they join and answer through the participants' HTTP API (or the services
in-process), correct with a known probability that depends on the feature source and the reveal
level, so the analysis can be checked against the truth.

The truth model: accuracy(source, level) = 0.5 + (0.5 - lapse) * (1 - exp(-level / scale[source])).
A simulated participant does not look at the pixels: the command reads each trial's right answer
and condition from the database (the one thing a real participant cannot do).
"""

import math
from collections.abc import Callable

import numpy as np
import requests

DEFAULT_SCALES = {"clickme": 6.0, "saliency": 25.0}
DEFAULT_LAPSE = 0.04
FRAME_MS = 1000 / 60


def true_accuracy(source: str, level: float, scales: dict[str, float], lapse: float = DEFAULT_LAPSE) -> float:
    return 0.5 + (0.5 - lapse) * (1 - math.exp(-level / scales[source]))


class HttpTransport:
    """One browser-like session against a running server: session cookie, CSRF token, JSON."""

    def __init__(self, base_url: str, slug: str, timeout_s: float = 30.0):
        self.base = base_url.rstrip("/")
        self.api = f"{self.base}/api/experiments/{slug}/"
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "clickme-simulated-participant"
        self.timeout_s = timeout_s
        page = self.http.get(f"{self.base}/experiments/{slug}/", timeout=timeout_s)
        page.raise_for_status()
        self.http.headers["X-CSRFToken"] = self.http.cookies["csrftoken"]
        self.http.headers["Referer"] = f"{self.base}/experiments/{slug}/"

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        response = self.http.post(f"{self.api}{path}", json=body, timeout=self.timeout_s)
        if response.status_code >= 500:
            response.raise_for_status()
        return response.status_code, response.json()


class ServiceTransport:
    """The same calls through the services, in-process (no server needed)."""

    def __init__(self, slug: str):
        from .selectors import experiment_by_slug

        self.experiment = experiment_by_slug(slug)
        self.session: dict = {}

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        from clickme_site.errors import NotFound, ServiceError

        from . import selectors, services

        try:
            if path == "participant/":
                participant, created = services.participant_join(
                    experiment=self.experiment,
                    session=self.session,
                    consent=body["consent"],
                    platform=body.get("platform", ""),
                    external_id=body.get("external_id", ""),
                    user_agent="clickme-simulated-participant",
                )
                return (201 if created else 200), selectors.participant_state(participant, self.experiment)
            trial_id = int(path.split("/")[1])
            names = ("key", "rt_ms", "requested_frames", "shown_frames", "shown_stimulus_ms", "frame_interval_ms")
            fields = {name: body[name] for name in names}
            known = selectors.participant_of_session(self.session, self.experiment)
            if known is None:
                raise NotFound("this session has not joined the experiment", "not_joined")
            _trial, participant = services.trial_answer(
                participant_id=known.pk,
                trial_id=trial_id,
                answer=services.TrialAnswer(**fields, timing=body.get("timing", {})),
            )
            return 200, {"state": selectors.participant_state(participant, self.experiment)}
        except ServiceError as error:
            return error.status_code, {"detail": str(error.detail), "code": error.code}


def participant_simulate(
    transport,
    *,
    truth_of: Callable[[int], tuple[str, int, str, str]],
    rng: np.random.Generator,
    scales: dict[str, float],
    lapse: float,
    stimulus_ms: int,
    external_id: str | None = None,
) -> tuple[bool, int]:
    """Join and answer every trial; (completed, trials answered). `truth_of(trial_id)` gives the
    trial's (source, level, right key, other key)."""
    body = {"consent": True, **({"platform": "prolific", "external_id": external_id} if external_id else {})}
    status, state = transport.post("participant/", body)
    if status not in (200, 201):
        raise RuntimeError(f"join refused: {status} {state}")
    answered = 0
    frames = max(1, round(stimulus_ms / FRAME_MS))
    while state["phase"] != "completed":
        trial = state["trials"][0]
        source, level, right, wrong = truth_of(trial["id"])
        correct = rng.random() < true_accuracy(source, level, scales, lapse)
        answer = {
            "key": right if correct else wrong,
            "rt_ms": float(np.clip(rng.lognormal(np.log(520), 0.25), 150, 1500)),
            "requested_frames": frames,
            "shown_frames": frames,
            "shown_stimulus_ms": frames * FRAME_MS,
            "frame_interval_ms": FRAME_MS,
            "timing": {"simulated": True},
        }
        status, reply = transport.post(f"trials/{trial['id']}/", answer)
        if status != 200:
            raise RuntimeError(f"answer refused: {status} {reply}")
        state = reply["state"]
        answered += 1
    return True, answered
