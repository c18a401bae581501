"""Realistic ClickMe players for locust (run by bench/load.py; headless and bounded in time).

Each simulated player is a browser: GET / for the session and CSRF cookies, then rounds one after
the other: POST /api/game/rounds/, paint 10 clicks per post every 500 ms (20 clicks/s, 50 ms apart,
a wandering brush) until the round is won, 14 posts (7 s) or 200 clicks, POST .../finish/ when still
open, then 2 s before the next round. A 409 round_closed ends a round as it does in the browser and
is not an error; every other 4xx/5xx or network failure is.

Every click the server accepted (a 200 to its post) is written to BENCH_ACCEPTED_FILE (JSON Lines,
one line per round: {"round_id", "clicks"}) when the run stops, so the runner can check that each
accepted click is stored exactly once and counted in the maps.
"""

import json
import os
import random
import time

from locust import HttpUser, events, task

POST_EVERY_S = 0.5
CLICKS_PER_POST = 10
CLICK_EVERY_MS = 50
MAX_POSTS = 14
PAUSE_BETWEEN_ROUNDS_S = 2.0
ACCEPTED: dict[int, list] = {}
CLOSED = {"count": 0}


@events.test_stop.add_listener
def _write_accepted(environment, **kwargs):
    path = os.environ.get("BENCH_ACCEPTED_FILE")
    if not path:
        return
    with open(path, "w") as handle:
        for round_id, clicks in ACCEPTED.items():
            handle.write(json.dumps({"round_id": round_id, "clicks": clicks}) + "\n")
        handle.write(json.dumps({"closed_409": CLOSED["count"]}) + "\n")


class Player(HttpUser):
    wait_time = staticmethod(lambda: PAUSE_BETWEEN_ROUNDS_S)

    def on_start(self):
        self.client.get("/", name="GET /")
        self.csrf = self.client.cookies.get("csrftoken", "")
        self.rng = random.Random()

    def _post(self, path, body, name):
        return self.client.post(
            path,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf},
            name=name,
            catch_response=True,
        )

    @task
    def play_round(self):
        with self._post("/api/game/rounds/", {}, "POST rounds/") as started:
            if started.status_code == 409:
                started.success()  # no_images_left: this player has seen every image
                self.stop()
                return
            if started.status_code != 201:
                started.failure(f"{started.status_code}: {started.text[:200]}")
                return
            round_ = started.json()
        round_id = round_["round_id"]
        width, height = round_["image_size"]
        x, y = self.rng.uniform(0, width - 1), self.rng.uniform(0, height - 1)
        accepted = ACCEPTED.setdefault(round_id, [])
        t0 = time.monotonic()
        state = "open"
        for post in range(MAX_POSTS):
            delay = t0 + (post + 1) * POST_EVERY_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # gevent-patched: the brush paints while we wait
            clicks = []
            for j in range(CLICKS_PER_POST):
                x = min(max(x + self.rng.uniform(-7, 7), 0), width - 1)
                y = min(max(y + self.rng.uniform(-7, 7), 0), height - 1)
                clicks.append([int(x), int(y), int(post * POST_EVERY_S * 1000) + j * CLICK_EVERY_MS])
            with self._post(f"/api/game/rounds/{round_id}/clicks/", {"clicks": clicks}, "POST clicks/") as answer:
                if answer.status_code == 409:
                    answer.success()
                    CLOSED["count"] += 1
                    return
                if answer.status_code != 200:
                    answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                    break
                accepted.extend(clicks)
                state = answer.json()["state"]
            if state != "open":
                return
        with self._post(f"/api/game/rounds/{round_id}/finish/", {}, "POST finish/") as finished:
            if finished.status_code != 200:
                finished.failure(f"{finished.status_code}: {finished.text[:200]}")
