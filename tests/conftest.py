"""Shared fixtures: media in a temporary folder, synthetic images, and real partner artifacts."""

import io

import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from PIL import Image as PILImage

from game.models import Image, Playability
from game.synthetic_benchmark import CATEGORIES, scene
from training.partner_export import partner_export

from .factories import CategoryFactory, ImageFactory

_NEEDS = {"postgres_only": "PostgreSQL", "redis_only": "Redis"}


def pytest_collection_modifyitems(config, items):
    """The embedded-default lane (SQLite, no Redis: clickme_site/settings/test_sqlite.py) skips the
    tests marked postgres_only / redis_only, with the one-line reason each marker must give, and runs
    only the tests that touch the database."""
    from django.conf import settings

    missing = {
        "postgres_only": settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        "redis_only": not settings.REDIS_URL,
    }
    for item in items:
        for name, server in _NEEDS.items():
            marker = item.get_closest_marker(name)
            if marker is None:
                continue
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            if not reason:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} needs a reason")
            if missing[name]:
                item.add_marker(pytest.mark.skip(reason=f"needs {server}: {reason}"))
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # The lane is for what the database decides: a test that touches none ran in `make test` already
        # and would run the same code again here.
        database = {"db", "transactional_db", "django_db_setup", "live_server"}
        kept = [i for i in items if i.get_closest_marker("django_db") or database & set(getattr(i, "fixturenames", ()))]
        if len(kept) < len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = kept


@pytest.fixture(autouse=True)
def _cache_emptied_on_sqlite():
    """SQLite gives a rolled-back row's id to the next row (AUTOINCREMENT's counter is rolled back
    with it; PostgreSQL's sequences are not), so a cache key holding a user id, a throttle's count,
    would carry over to the next test's user: in the SQLite lane each test starts with an empty cache."""
    from django.core.cache import cache
    from django.db import connection

    if connection.vendor == "sqlite":
        cache.clear()


@pytest.fixture(autouse=True)
def _redis_not_skipped():
    """A Redis failure one test provoked (clickme_site/redis_skip.py keeps it per process) is not the next test's."""
    from clickme_site import redis_skip

    redis_skip.reset()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT.mkdir()


def png_of(array):
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def synthetic_image(category, index, seed=0, part_colours=None, n_distractors=None, **fields):
    """An Image row holding a synthetic benchmark scene (and its mask) of `category`: the scene of
    benchmark category `index % 64`; `part_colours` and `n_distractors` go to `scene`."""
    rng = np.random.default_rng(seed * 1000 + index)
    array, mask = scene(rng, index % len(CATEGORIES), part_colours=part_colours, n_distractors=n_distractors)
    image = ImageFactory.build(category=category, **fields)
    image.file.save(f"{image.sha256}.png", ContentFile(png_of(array)), save=False)
    image.mask.save(f"{image.sha256}.png", ContentFile(png_of(mask.astype(np.uint8) * 255)), save=False)
    image.save()
    return image


class ConstantLogits(torch.nn.Module):
    """A partner whose ranking never changes: output k scores `scores[k]` whatever it sees."""

    def __init__(self, scores):
        super().__init__()
        self.register_buffer("scores", torch.tensor(scores, dtype=torch.float32))

    def forward(self, x):
        return self.scores.expand(x.shape[0], -1) + 0.0 * x.mean(dim=(1, 2, 3))[:, None]


@pytest.fixture
def categories(db):
    return [CategoryFactory(name=f"category {k}", wnid=f"s{k:07d}") for k in range(7)]


def constant_partner(name, categories, scores, folder):
    """Register and activate a real exported partner that always ranks `categories` by `scores`."""
    from game.partner_registry import partner_register

    path = partner_export(
        ConstantLogits(scores),
        folder / f"{name}.pt2",
        categories=[{"wnid": c.wnid, "name": c.name} for c in categories],
        input_size=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        architecture="constant",
    )
    # it ignores its input, so it wins at zero clicks whenever it wins: forced past the validity rule,
    # and its images served as if they had passed the screening (which it would fail on every one)
    partner = partner_register(name=name, weights_path=path, activate=True, force=True)
    Image.objects.update(playability=Playability.PLAYABLE)
    return partner


@pytest.fixture
def ranked_partner(categories, tmp_path, settings):
    """A registered, active partner whose top 5 are always categories 0-4 (5 and 6 are never recognised).
    The win rule is set to top 5 here (its default for 7 categories is top 1: game/win_rule.py)."""
    settings.CLICKME = {**settings.CLICKME, "WIN_TOP_K": 5}
    return constant_partner("ranked", categories, [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], tmp_path)


def worker_database_url():
    """DATABASE_URL of the test database, for the processes a test starts: PostgreSQL's, or in the
    SQLite lane its file (theirs then use the lane's filesystem broker: REDIS_URL is empty there)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(tmp_path_factory, django_db_setup):
    """A real Celery worker process on the test broker (Redis, or in the SQLite lane kombu's filesystem
    transport, as `make run` with no REDIS_URL), not eager mode. Yields its hostname
    and media and private roots (tests that read files it writes point MEDIA_ROOT and PRIVATE_ROOT there)."""
    import os
    import subprocess
    import sys
    import time
    import types
    import uuid
    from pathlib import Path

    from clickme_site.celery import app

    hostname = f"pytest-{uuid.uuid4().hex[:8]}@localhost"
    media_root = tmp_path_factory.mktemp("worker-media")
    private_root = tmp_path_factory.mktemp("worker-private")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clickme_site.settings.test",
        "CLICKME_MEDIA_ROOT": str(media_root),
        "CLICKME_PRIVATE_ROOT": str(private_root),
    }

    env["DATABASE_URL"] = worker_database_url()  # the test database, created by django_db_setup
    app.control.purge()  # messages left on the test broker by an earlier, interrupted run
    celery = Path(sys.executable).with_name("celery")
    process = subprocess.Popen(
        [
            str(celery),
            "-A",
            "clickme_site",
            "worker",
            "-Q",
            "celery,maps,training",
            "--pool",
            "solo",
            "--hostname",
            hostname,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=[hostname], timeout=0.5):
            break
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited at start")
    else:
        process.terminate()
        raise RuntimeError("the Celery worker did not answer within 60 s")
    _worker_hostnames.append(hostname)
    yield types.SimpleNamespace(hostname=hostname, media_root=media_root, private_root=private_root)
    _worker_hostnames.remove(hostname)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


_worker_hostnames = []


def _worker_idle(hostname, timeout_s=90.0):
    """True once the worker answers with no active task and its queues on the broker are empty."""
    import time

    from clickme_site.celery import app

    deadline = time.monotonic() + timeout_s
    with app.connection_for_write() as conn:
        channel = conn.default_channel  # kombu's virtual channel: Redis lists or the filesystem's files
        while time.monotonic() < deadline:
            queued = sum(channel._size(queue) for queue in ("celery", "maps", "training"))
            active = app.control.inspect(destination=[hostname], timeout=1.0).active()
            if queued == 0 and active is not None and not active.get(hostname):
                return True
            time.sleep(0.2)
    return False


@pytest.fixture(autouse=True)
def _worker_quiet_before_flush(_django_db_marker):
    """A transactional test's database is flushed after it; a worker still running one of its tasks
    would hold row locks and deadlock the flush, so wait for it to go idle first."""
    yield
    for hostname in list(_worker_hostnames):
        assert _worker_idle(hostname), f"the Celery worker {hostname} stayed busy"
