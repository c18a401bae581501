"""Test settings: the real PostgreSQL and Redis on 127.0.0.1 (override with DATABASE_URL / REDIS_URL)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clickme")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")

from .base import *  # noqa: E402,F403
from .base import CLICKME  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True  # tests serve static files without collectstatic
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Guesses written after each answer: a writer thread's own connection would not see a test's
# uncommitted rows (tests/game/test_guesses_writer.py tests the thread on committed ones).
CLICKME = {**CLICKME, "IP_HASH_SALT": "test-salt", "GUESSES_WRITE_DELAY_S": 0}
# Every test client comes from 127.0.0.1, so per-IP limits would couple unrelated tests; per-session
# and per-token limits stay as deployed (tests/ops/test_throttling.py sets the rates it checks).
CLICKME_THROTTLE_RATES = {name: ("" if name.endswith("_ip") else rate) for name, rate in CLICKME_THROTTLE_RATES.items()}  # noqa: F405
