"""The first click post after a web restart against a warm one, on a running `make run`.

    make run &                                   # or any stack served under scripts/supervisord.conf
    CLICKME_RUN_DIR=var/run .venv/bin/python bench/first_post.py --restarts 5

Each restart: `supervisorctl restart web`, wait until the site answers, then a new player starts a
round and posts 10 clicks (the first post this web process serves), then 10 more rounds' first posts
(warm). Prints the first-post and warm p50 and their ratio (goal: first <= 2x warm). Both kinds are
first posts of their rounds, so they differ only in what the process had loaded.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def live(base):
    try:
        return requests.get(f"{base}/healthz/live", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Player:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.http.get(f"{base}/", timeout=60).raise_for_status()
        self.http.headers.update({"X-CSRFToken": self.http.cookies["csrftoken"], "Referer": f"{base}/"})
        self.http.patch(f"{base}/api/game/me/", json={"consented": True}, timeout=60).raise_for_status()

    def first_post_ms(self):
        start = self.http.post(f"{self.base}/api/game/rounds/", json={}, timeout=60)
        start.raise_for_status()
        round_id = start.json()["round_id"]
        clicks = [[100 + k, 100, 400 + 50 * k] for k in range(10)]
        began = time.perf_counter()
        response = self.http.post(
            f"{self.base}/api/game/rounds/{round_id}/clicks/", json={"clicks": clicks}, timeout=60
        )
        elapsed_ms = (time.perf_counter() - began) * 1000
        response.raise_for_status()
        self.http.post(f"{self.base}/api/game/rounds/{round_id}/finish/", json={}, timeout=60)
        return elapsed_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--warm", type=int, default=10, help="warm posts after each restart")
    args = parser.parse_args()
    env = {
        **os.environ,
        "CLICKME_RUN_DIR": str(Path(os.environ.get("CLICKME_RUN_DIR", ROOT / "var" / "run")).resolve()),
    }
    env.setdefault("CLICKME_BIN", str(Path(sys.executable).parent))
    env.setdefault("PORT", args.base_url.rsplit(":", 1)[-1])
    env.setdefault("CLICKME_USER", os.environ.get("USER", "root"))
    first, warm = [], []
    for restart in range(args.restarts):
        subprocess.run(
            [
                str(Path(sys.executable).parent / "supervisorctl"),
                "-c",
                str(ROOT / "scripts" / "supervisord.conf"),
                "restart",
                "clickme:web",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        began = time.monotonic()
        while not live(args.base_url):
            time.sleep(0.05)
        up_s = time.monotonic() - began
        player = Player(args.base_url)
        first.append(player.first_post_ms())
        warm.extend(player.first_post_ms() for _ in range(args.warm))
        print(f"restart {restart + 1}: serving after {up_s:.1f} s, first post {first[-1]:.0f} ms", flush=True)
    first_p50, warm_p50 = statistics.median(first), statistics.median(warm)
    print(f"first post after a restart: p50 {first_p50:.0f} ms (max {max(first):.0f}) over {len(first)} restarts")
    print(f"warm first posts:           p50 {warm_p50:.0f} ms over {len(warm)} rounds")
    print(f"ratio {first_p50 / warm_p50:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
