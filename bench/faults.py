"""Two fault probes against the whole stack (gunicorn 2 x 4, a Celery worker, PostgreSQL, and a Redis
server of the bench's own, as cache and broker), with the deployed rate limits (per-IP ones included):

    .venv/bin/python bench/faults.py                          # the 90 s flood, then a 12 s hung Redis
    .venv/bin/python bench/faults.py --flood-s 10 --hang-s 4  # a quick look

flood: one address (127.0.0.2) loops {no cookie; load the page; start a round; post one click;
finish} as fast as it is answered, for --flood-s seconds. Printed: the starts that passed and were
refused, then from the database the rounds it left, how many are map-eligible, and the images retired.

hang: --players players, each from its own loopback address (127.0.0.10, ...), play rounds like the
page (a start, 10 clicks every 500 ms for up to three posts, a finish, a second's look at the result).
After --warmup-s the Redis server is stopped with SIGSTOP for --hang-s seconds (it keeps accepting
connections and answers nothing), then continued. Printed: p50, p99 and max of every answer during the
hang and overall, the non-2xx answers, and the rounds lost: a round with a failed answer, one whose
stored clicks differ from those accepted, or one left out of its image's map once beat's stale-map sweep
(run here: the stack has no beat) has run.

It builds its world as bench/load.py does (bench/sandbox.py: database clickme_bench_faults, dropped at
the end; media, private files and var/ in a temporary folder); the Redis server is started and killed here.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import IP_SCOPES, MARK, Stack, log  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench_faults"


class RedisServer:
    def __init__(self, port):
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed")
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=20)


class Browser:
    """A browser's cookies and CSRF token, its requests from `source` (its own address) to the stack."""

    def __init__(self, port, source):
        self.port, self.source = port, source
        self.cookies = {}
        self.connection = None

    def request(self, method, path, body=None):
        """(status, JSON answer or None, seconds); status 0 for a network failure or a timeout."""
        headers = {"Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
                )
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.connection = None
            return 0, None, time.perf_counter() - began
        elapsed = time.perf_counter() - began
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        try:
            answer = (
                json.loads(raw)
                if raw and response.getheader("Content-Type", "").startswith("application/json")
                else None
            )
        except ValueError:
            answer = None
        return response.status, answer, elapsed


def flood(port, seconds):
    started = refused = other = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        bot = Browser(port, "127.0.0.2")  # a new browser each time: no cookie
        bot.request("GET", "/")
        status, answer, _ = bot.request("POST", "/api/game/rounds/", {})
        if status == 201:
            started += 1
            round_id = answer["round_id"]
            bot.request("POST", f"/api/game/rounds/{round_id}/clicks/", {"clicks": [[30, 30, 0]]})
            bot.request("POST", f"/api/game/rounds/{round_id}/finish/", {})
        elif status == 429:
            refused += 1
        else:
            other += 1
    return {"starts_passed": started, "starts_refused": refused, "starts_other": other}


FLOOD_CHECK = r"""
import json
from game.models import Image, Player, Round
print("@@BENCH@@" + json.dumps({
    "players": Player.objects.count(), "rounds": Round.objects.count(),
    "map_eligible_rounds": Round.objects.map_eligible().count(),
    "retired_images": Image.objects.filter(retired=True).count(),
    "completed_rounds_counted": sum(Image.objects.values_list("completed_rounds", flat=True)),
}))
"""


class Player(threading.Thread):
    """Plays rounds like the page until told to stop; records every answer and every round."""

    def __init__(self, port, source, began, stop, seed):
        super().__init__(daemon=True)
        self.browser = Browser(port, source)
        self.began, self.stop = began, stop
        self.rng = random.Random(seed)
        self.answers = []  # (seconds since the bench began, what, status, seconds)
        self.rounds = []  # (round id, accepted clicks, every answer 2xx)

    def call(self, what, method, path, body=None):
        at = time.monotonic() - self.began
        status, answer, elapsed = self.browser.request(method, path, body)
        self.answers.append((at, what, status, elapsed))
        return status, answer

    def run(self):
        self.call("page", "GET", "/")
        while not self.stop.is_set():
            status, answer = self.call("start", "POST", "/api/game/rounds/", {})
            if status != 201:
                time.sleep(1.0)
                continue
            round_id, accepted, fine, state = answer["round_id"], [], True, "open"
            x0, y0 = self.rng.randrange(20, 140), self.rng.randrange(20, 160)
            for k in range(3):
                time.sleep(0.5)  # the brush lays 10 bubble centres in 500 ms
                clicks = [[x0 + 3 * (10 * k + j), y0 + 2 * (10 * k + j), 50 * (10 * k + j)] for j in range(10)]
                status, answer = self.call("clicks", "POST", f"/api/game/rounds/{round_id}/clicks/", {"clicks": clicks})
                if status != 200:
                    fine = False
                    break
                accepted += clicks
                state = answer["state"]
                if state != "open":
                    break
            if state == "open":
                status, _answer = self.call("finish", "POST", f"/api/game/rounds/{round_id}/finish/", {})
                fine = fine and status == 200
            self.rounds.append((round_id, accepted, fine))
            time.sleep(1.0)  # a look at the result, a click on "next"


HANG_CHECK = r"""
import json, os
from annotations.models import ClickMap
from annotations.selectors import qualifying_rounds, stale_image_ids
from annotations.services import maps_rebuild_stale
from game.models import Round
rounds = json.loads(open(os.environ["BENCH_ROUNDS_FILE"]).read())
maps_rebuild_stale()  # beat's sweep (every 2 minutes under make run and compose)
stored = {r.pk: r for r in Round.objects.filter(pk__in=[row[0] for row in rounds])}
lost = []
for round_id, accepted, fine in rounds:
    row = stored.get(round_id)
    if not fine or row is None or row.clicks != accepted or row.state not in ("won", "expired"):
        lost.append(round_id)
        continue
    if Round.objects.map_eligible().filter(pk=round_id).exists():
        in_map = round_id in {rid for rid, _c in qualifying_rounds(image_id=row.image_id)}
        clickmap = ClickMap.objects.filter(image_id=row.image_id).first()
        if not in_map or clickmap is None or clickmap.n_players != len(qualifying_rounds(image_id=row.image_id)):
            lost.append(round_id)
print("@@BENCH@@" + json.dumps({"rounds": len(rounds), "lost": lost, "stale_maps": len(stale_image_ids())}))
"""


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def hang(stack, redis, args):
    began, stop = time.monotonic(), threading.Event()
    players = [Player(stack.port, f"127.0.0.{10 + k}", began, stop, seed=k) for k in range(args.players)]
    for player in players:
        player.start()
    time.sleep(args.warmup_s)
    hung_at = time.monotonic() - began
    log(f"SIGSTOP redis-server for {args.hang_s:.0f} s")
    redis.process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(args.hang_s)
    finally:
        redis.process.send_signal(signal.SIGCONT)
    log("SIGCONT")
    time.sleep(args.after_s)
    stop.set()
    for player in players:
        player.join(timeout=60)
    answers = [answer for player in players for answer in player.answers]
    during = [s for at, _w, _st, s in answers if hung_at <= at < hung_at + args.hang_s]
    rounds = [row for player in players for row in player.rounds]
    rounds_file = stack.tmp / "hang-rounds.json"
    rounds_file.write_text(json.dumps(rounds))
    out = stack.manage("shell", "-c", HANG_CHECK, capture=True, extra_env={"BENCH_ROUNDS_FILE": str(rounds_file)})
    check = json.loads(next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK) :])
    return {
        "players": args.players,
        "hang_s": args.hang_s,
        "answers": len(answers),
        "answers_in_hang": len(during),
        "p50_ms_in_hang": 1000 * percentile(during, 50),
        "p99_ms_in_hang": 1000 * percentile(during, 99),
        "max_ms_in_hang": 1000 * max(during, default=float("nan")),
        "p99_ms_all": 1000 * percentile([s for *_x, s in answers], 99),
        "non_2xx": sum(1 for _at, _w, status, _s in answers if not 200 <= status < 300),
        "rounds": len(rounds),
        "rounds_lost": len(check["lost"]),
        "stale_maps_after_sweep": check["stale_maps"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood-s", type=float, default=90.0, help="seconds of the throwaway-session flood (0: none)")
    parser.add_argument("--hang-s", type=float, default=12.0, help="seconds Redis is stopped (0: no hang probe)")
    parser.add_argument("--warmup-s", type=float, default=8.0, help="seconds of play before the hang")
    parser.add_argument("--after-s", type=float, default=6.0, help="seconds of play after it")
    parser.add_argument("--players", type=int, default=8, help="players during the hang probe")
    parser.add_argument("--per-category", type=int, default=10, help="benchmark images per category")
    parser.add_argument("--redis-port", type=int, default=6391, help="port of the bench's own redis-server")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--json", dest="json_out", help="write every number to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder and the logs")
    args = parser.parse_args()

    redis = RedisServer(args.redis_port)
    stack_args = argparse.Namespace(
        database_url=args.database_url,
        redis_url=redis.url,
        per_category=args.per_category,
        workers=2,
        threads=4,
        keep_tmp=args.keep_tmp,
    )
    stack = Stack(stack_args)
    for scope in IP_SCOPES:  # the deployed per-IP rates (bench/load.py switches them off)
        stack.env.pop(f"CLICKME_THROTTLE_{scope}_IP", None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {}
    try:
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("DJANGO_", "CLICKME_", "DATABASE"))})
        stack.setup()
        stack.start()
        if args.flood_s > 0:
            log(f"flood for {args.flood_s:.0f} s from 127.0.0.2")
            results["flood"] = flood(stack.port, args.flood_s)
            out = stack.manage("shell", "-c", FLOOD_CHECK, capture=True)
            results["flood"] |= json.loads(
                next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK) :]
            )
            print(f"flood ({args.flood_s:.0f} s): {json.dumps(results['flood'])}", flush=True)
        if args.hang_s > 0:
            results["hang"] = hang(stack, redis, args)
            print(f"hung Redis: {json.dumps(results['hang'])}", flush=True)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2))
        flood_ok = "flood" not in results or (
            results["flood"]["map_eligible_rounds"] == 0 and results["flood"]["retired_images"] == 0
        )
        hang_ok = "hang" not in results or (
            results["hang"]["p99_ms_in_hang"] < 1000 and results["hang"]["rounds_lost"] == 0
        )
        return 0 if flood_ok and hang_ok else 1
    finally:
        stack.close()
        redis.close()


if __name__ == "__main__":
    sys.exit(main())
