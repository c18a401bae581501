"""Test settings of the embedded default (`make run` with no DATABASE_URL / REDIS_URL): SQLite files
and kombu's filesystem broker and the file-based cache under CLICKME_VAR_DIR (var/test-sqlite/ unless
set), whatever DATABASE_URL / REDIS_URL the shell has. `bash scripts/test.sh --sqlite` runs it."""

import os
from pathlib import Path

_var_dir = Path(
    os.environ.setdefault("CLICKME_VAR_DIR", str(Path(__file__).resolve().parents[2] / "var" / "test-sqlite"))
)
_var_dir.mkdir(parents=True, exist_ok=True)
os.environ["DATABASE_URL"] = f"sqlite:///{_var_dir / 'clickme.sqlite3'}"
os.environ["REDIS_URL"] = ""
os.environ.pop("CELERY_BROKER_URL", None)

from .test import *  # noqa: E402,F403
from .test import DATABASES  # noqa: E402

# A file, not SQLite's shared in-memory database: worker processes can open it, and a busy database
# waits for its lock (OPTIONS["timeout"]) as under `make run` instead of failing with "table is locked".
DATABASES["default"]["TEST"] = {"NAME": str(_var_dir / "test_clickme.sqlite3")}
