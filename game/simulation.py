"""Simulated players that play through the real HTTP API, each with its own session and CSRF token."""

import logging
from dataclasses import dataclass, field

import numpy as np
import requests

from .simulated_players import trajectory

log = logging.getLogger(__name__)
POST_EVERY = 10


@dataclass
class SimulationReport:
    rounds: int = 0
    won: int = 0
    scores: list = field(default_factory=list)
    clicks: int = 0
    out_of_images: int = 0


class SimulatedPlayer:
    def __init__(self, base_url, mask_for, rng, careless, nickname=None, timeout_s=30.0):
        self.base_url = base_url.rstrip("/")
        self.mask_for = mask_for
        self.rng = rng
        self.careless = careless
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "clickme-simulated-player"
        self.http.get(f"{self.base_url}/", timeout=timeout_s).raise_for_status()
        self.http.headers["X-CSRFToken"] = self.http.cookies["csrftoken"]
        self.http.headers["Referer"] = f"{self.base_url}/"
        changes = {"consented": True, **({"nickname": nickname} if nickname else {})}
        self._call("patch", "/api/game/me/", changes)

    def _call(self, method, path, body=None):
        response = self.http.request(
            method, f"{self.base_url}{path}", json=body if body is not None else {}, timeout=self.timeout_s
        )
        if response.status_code >= 500:
            response.raise_for_status()
        return response

    def play_round(self, report):
        """Play one round; False when this player has seen every image."""
        response = self._call("post", "/api/game/rounds/")
        if response.status_code == 409 and response.json().get("code") == "no_images_left":
            report.out_of_images += 1
            return False
        response.raise_for_status()
        start = response.json()
        width, height = start["image_size"]
        mask = self.mask_for(start["image_id"])
        if mask is None:
            mask = np.ones((height, width), dtype=bool)
        n_clicks = min(start["max_clicks"], start["time_limit_ms"] // 50)
        clicks = trajectory(mask, self.rng, careless=self.careless, n_clicks=n_clicks).tolist()
        answer = {"state": "open", "score": 0}
        for begin in range(0, len(clicks), POST_EVERY):
            chunk = clicks[begin : begin + POST_EVERY]
            reply = self._call("post", f"/api/game/rounds/{start['round_id']}/clicks/", {"clicks": chunk})
            if reply.status_code == 409:
                break
            reply.raise_for_status()
            answer = reply.json()
            report.clicks += len(chunk)
            if answer["state"] != "open":
                break
        if answer["state"] == "open":
            answer = self._call("post", f"/api/game/rounds/{start['round_id']}/finish/").json()
        report.rounds += 1
        report.won += answer["state"] == "won"
        report.scores.append(answer["score"])
        return True


def players_simulate(base_url, mask_for, n_players, n_rounds, careless_fraction=0.0, seed=0):
    """N players, each playing up to M rounds; a share `careless_fraction` click anywhere."""
    rng = np.random.default_rng(seed)
    report = SimulationReport()
    n_careless = int(round(n_players * careless_fraction))
    for index in range(n_players):
        careless = index < n_careless
        player = SimulatedPlayer(
            base_url,
            mask_for,
            np.random.default_rng(rng.integers(2**32)),
            careless,
            nickname=f"sim-{'careless' if careless else 'careful'}-{index}",
        )
        for _ in range(n_rounds):
            if not player.play_round(report):
                break
    return report
