"""The open rounds' latest guesses, written by a thread of the web process (their display copy).

A click post's answer carries the partner's guesses; the round row keeps the latest ones for the admin
(game/admin.py) and for a round read later. That copy needs no write on the post's own path: the post
hands it here, and a thread of the process writes, `CLICKME["GUESSES_WRITE_DELAY_S"]` after the first
one it has not written, the newest guesses of every round posted since, in one transaction (one UPDATE
on PostgreSQL). A round's newer post always wins over an older one (by its count of stored clicks, here
and in the UPDATE), and a round that is no longer open is left alone: a win or a close writes its own.

It is a display copy, never a click or a score: a crash loses at most the last delay's guesses (and the
commit does not wait for the WAL). Pending guesses are written when the process exits normally.
"""

import atexit
import json
import logging
import os
import threading
import time
from typing import Any

from django.db import close_old_connections, connection, transaction

from .models import Round

log = logging.getLogger(__name__)


class GuessesWriter:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self._start_fresh()
        atexit.register(self.flush)

    def _start_fresh(self) -> None:
        self.pid = os.getpid()
        self.pending: dict[int, tuple[int, list[dict[str, Any]]]] = {}  # round id -> (n_clicks, guesses)
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def put(self, round_id: int, n_clicks: int, guesses: list[dict[str, Any]]) -> None:
        with self.lock:
            if self.pid != os.getpid():  # a forked child: the parent's thread and queue stay behind
                self._start_fresh()
            newest = self.pending.get(round_id)
            if newest is None or newest[0] <= n_clicks:
                self.pending[round_id] = (n_clicks, guesses)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="guesses-writer", daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        try:
            while not self.stopping:
                self.wake.wait()
                time.sleep(self.delay_s)  # the posts of the next delay go in the same write
                self.wake.clear()
                self.flush()
                close_old_connections()  # CONN_MAX_AGE and health checks, as after a request
        finally:
            self.flush()
            connection.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is pending, close the thread's connection and end the thread (a later put starts
        a new one)."""
        with self.lock:
            thread, self.thread = self.thread, None
            self.stopping = thread is not None
        if thread is not None:
            self.wake.set()
            thread.join(timeout)
        self.stopping = False

    def flush(self) -> int:
        """Write what is pending now; the number of rounds written (0 on a failure, which is logged)."""
        with self.lock:
            batch, self.pending = self.pending, {}
        if not batch:
            return 0
        try:
            return rounds_guesses_save(batch)
        except Exception:
            log.exception("could not keep the partner's guesses of %d rounds", len(batch))
            connection.close()  # this thread's connection may be broken: the next write opens a new one
            return 0


def rounds_guesses_save(batch: dict[int, tuple[int, list[dict[str, Any]]]]) -> int:
    """Keep each open round's guesses unless a later post has stored clicks since; rows updated."""
    with transaction.atomic():
        if connection.vendor != "postgresql":
            return sum(
                Round.objects.filter(pk=pk, state=Round.State.OPEN, n_clicks=n).update(last_guesses=guesses)
                for pk, (n, guesses) in batch.items()
            )
        rows = [(pk, n, json.dumps(guesses)) for pk, (n, guesses) in batch.items()]
        values = ", ".join(["(%s::bigint, %s::int, %s::jsonb)"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                f"UPDATE {Round._meta.db_table} AS r SET last_guesses = v.guesses"  # noqa: S608 (names, not input)
                f" FROM (VALUES {values}) AS v(id, n_clicks, guesses)"
                " WHERE r.id = v.id AND r.state = %s AND r.n_clicks = v.n_clicks",
                [value for row in rows for value in row] + [Round.State.OPEN],
            )
            return cursor.rowcount


_writer: GuessesWriter | None = None
_writer_lock = threading.Lock()


def writer(delay_s: float) -> GuessesWriter:
    """The process's writer (one per process; its delay is fixed by the first call)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = GuessesWriter(delay_s)
        return _writer
