"""What a web process must hold before it serves, as parts that apps add: each app registers, in its
AppConfig.ready(), a `warm` (run by gunicorn's post_worker_init, before the worker takes a request:
scripts/gunicorn.conf.py) and a `probe` (read by GET /healthz: "ok", "none" when there is nothing to
hold, anything else is not ready)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

READY_STATES = frozenset({"ok", "none"})


@dataclass(frozen=True)
class ReadinessPart:
    name: str
    warm: Callable[[], object]
    probe: Callable[[], str]


_parts: dict[str, ReadinessPart] = {}


def readiness_register(*, name: str, warm: Callable[[], object], probe: Callable[[], str]) -> None:
    """Add (or replace) the part `name`; AppConfig.ready() calls this once per process."""
    _parts[name] = ReadinessPart(name=name, warm=warm, probe=probe)


def readiness_parts() -> list[ReadinessPart]:
    return list(_parts.values())


def warm_all() -> None:
    """Load every registered part in this process (a web worker, before it serves). A part that fails
    to load is logged and left to its probe: /healthz then says which, and the worker still serves."""
    for part in readiness_parts():
        try:
            part.warm()
        except Exception:
            log.exception("readiness: %s did not load", part.name)
