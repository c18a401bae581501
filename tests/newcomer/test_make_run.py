"""The README's own path, as a newcomer takes it: a fresh clone, `make run` on the embedded default (no
DATABASE_URL, no REDIS_URL: SQLite, kombu's filesystem broker), rounds played through HTTP as the page
plays them (a careful one over the category's part, a careless one in a corner), then a won round, a
lost round, a ClickMe map through the researchers' API and an npz export holding it.

The clone uses this checkout's virtualenv (`make run` still runs its pip step against it): installing
the 5 GB of pinned requirements again would cost CI minutes; that the runtime requirements alone hold
every import of the product is tested in tests/test_requirements.py."""

import io
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
import requests
from PIL import Image as PILImage

from game.simulated_players import trajectory
from tests.ops.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PER_CATEGORY = 3  # 192 scenes of the 64 categories: a small benchmark, the same code path
SERVED_WITHIN_S = 900
BRUSH_INTERVAL_MS = 50
POST_EVERY = 10

pytestmark = [pytest.mark.newcomer, pytest.mark.slow]


class Newcomer:
    """`make run` in a fresh clone, its log, and what it serves."""

    def __init__(self, folder: Path):
        self.clone = folder / "clickme"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(self.clone)], check=True)
        (self.clone / ".venv").symlink_to(ROOT / ".venv")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "CLICKME_", "CELERY_", "PYTEST"))
        }
        self.env |= {"PORT": str(self.port), "BENCHMARK_PER_CATEGORY": str(PER_CATEGORY)}
        self.log_path = folder / "make-run.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            ["make", "run"],
            cwd=self.clone,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_served(self) -> float:
        started = time.monotonic()
        while "is served on" not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"make run exited with {self.process.returncode}:\n{self.output()[-6000:]}")
            if time.monotonic() - started > SERVED_WITHIN_S:
                raise AssertionError(f"not served within {SERVED_WITHIN_S} s:\n{self.output()[-6000:]}")
            time.sleep(1)
        return time.monotonic() - started

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.clone / ".venv" / "bin" / "python"), "manage.py", *args],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def mask_of(self, image_id: int) -> np.ndarray:
        """Where the image's diagnostic part is (a player sees it; the test reads the server's store)."""
        with sqlite3.connect(self.clone / "var" / "clickme.sqlite3") as db:
            (mask_name,) = db.execute("SELECT mask FROM game_image WHERE id = ?", (image_id,)).fetchone()
        private = self.clone / "var" / "private" / mask_name
        path = private if private.is_file() else self.clone / "var" / "media" / mask_name
        with PILImage.open(path) as mask:
            return np.asarray(mask.convert("L")) >= 128

    def stop(self) -> float:
        """Ctrl-C, as a person stops it; the seconds until every process of the run is gone."""
        started = time.monotonic()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        self.log.close()
        return time.monotonic() - started


class BrowserPlayer:
    """Plays as the page does: a session from the first page load, CSRF header, consent, then each
    round's brush laying a click every 50 ms posted 10 at a time, in real time."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.http.get(f"{base}/", timeout=30).raise_for_status()
        self.http.headers.update({"X-CSRFToken": self.http.cookies["csrftoken"], "Referer": f"{base}/"})
        self.http.patch(f"{base}/api/game/me/", json={"consented": True}, timeout=30).raise_for_status()

    def start(self) -> dict:
        response = self.http.post(f"{self.base}/api/game/rounds/", json={}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    def paint(self, round_: dict, points: list[tuple[int, int]]) -> dict:
        began = time.monotonic()
        answer: dict = {"state": "open", "score": 0}
        limit_ms = round_["time_limit_ms"]
        for start in range(0, len(points), POST_EVERY):
            batch = []
            for index, (x, y) in enumerate(points[start : start + POST_EVERY], start=start):
                t_ms = 400 + index * BRUSH_INTERVAL_MS
                if t_ms > limit_ms - 200:
                    break
                batch.append([int(x), int(y), t_ms])
            if not batch:
                break
            wait_s = batch[-1][2] / 1000 - (time.monotonic() - began)
            if wait_s > 0:
                time.sleep(wait_s)  # the brush has not reached the last click yet
            response = self.http.post(
                f"{self.base}/api/game/rounds/{round_['round_id']}/clicks/", json={"clicks": batch}, timeout=30
            )
            assert response.status_code == 200, response.text  # no click drawn in time is refused
            answer = response.json()
            if answer["state"] != "open":
                return answer
        response = self.http.post(f"{self.base}/api/game/rounds/{round_['round_id']}/finish/", json={}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def stroke_over(mask: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """A careful player's strokes over the part (the simulated players' brush trail: no click further
    than the brush goes from the last, a fresh path each round)."""
    return [(int(x), int(y)) for x, y, _t in trajectory(mask, rng, careless=False, n_clicks=n)]


def stroke_in_corner(mask: np.ndarray, n: int) -> list[tuple[int, int]]:
    """A careless player's stroke in the image corner farthest from the part: rows of 7 px steps."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    x0 = width - 40 if xs.mean() < width / 2 else 4
    y0 = height - 40 if ys.mean() < height / 2 else 4
    points = []
    for k in range(n):
        row, step = divmod(k, 5)
        column = step if row % 2 == 0 else 4 - step
        points.append((x0 + 7 * column, y0 + 7 * (row % 5)))
    return points


def test_a_newcomer_clone_plays_wins_loses_and_gets_a_map_and_an_export(tmp_path):
    run = Newcomer(tmp_path)
    try:
        served_s = run.wait_served()
        out = run.output()
        assert "CRIT" not in out and "Traceback" not in out, out[-6000:]
        rng = np.random.default_rng(0)

        careful = BrowserPlayer(run.base)
        won = None
        for _attempt in range(6):
            round_ = careful.start()
            answer = careful.paint(round_, stroke_over(run.mask_of(round_["image_id"]), rng, 120))
            if answer["state"] == "won":
                won = round_
                break
        assert won is not None, "six careful rounds over the part were all lost"

        careless = BrowserPlayer(run.base)
        lost = None
        for _attempt in range(6):
            round_ = careless.start()
            answer = careless.paint(round_, stroke_in_corner(run.mask_of(round_["image_id"]), 120))
            if answer["state"] == "expired":
                lost = round_
                break
        assert lost is not None, "six rounds painted in a corner were all won"

        token = run.manage("research_token", "newcomer").strip().splitlines()[-1].strip()
        research = requests.Session()
        research.headers["Authorization"] = f"Token {token}"
        map_url = f"{run.base}/api/v1/images/{won['image_id']}/map.npy"
        deadline = time.monotonic() + 180
        while (response := research.get(map_url, timeout=30)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(2)
        assert response.status_code == 200, f"no map within 180 s: {response.status_code} {response.text[:300]}"
        clickme_map = np.load(io.BytesIO(response.content))
        assert clickme_map.shape == tuple(reversed(won["image_size"])) and float(clickme_map.max()) == 1.0

        created = research.post(f"{run.base}/api/v1/exports/", json={"format": "npz", "filters": {}}, timeout=30)
        assert created.status_code == 202, created.text
        export_url = f"{run.base}/api/v1/exports/{created.json()['id']}/"
        deadline = time.monotonic() + 180
        while (export := research.get(export_url, timeout=30).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, f"export not built within 180 s: {export}"
            time.sleep(2)
        assert export["status"] == "done", export
        download = research.get(urljoin(f"{run.base}/", export["download_url"]), timeout=60)
        assert download.status_code == 200, download.text[:300]
        npz = np.load(io.BytesIO(download.content))
        assert won["image_id"] in npz["image_ids"].tolist()
        print(f"newcomer: served in {served_s:.0f} s")
    finally:
        stopped_s = run.stop()
        print(f"newcomer: stopped in {stopped_s:.1f} s after Ctrl-C")
