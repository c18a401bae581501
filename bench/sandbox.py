"""What a benchmark creates and must remove: a temporary folder, its own PostgreSQL database (whose
name must contain 'bench'), a Redis database flushed at the end only if it started empty."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class BenchSandbox:
    def __init__(self, database_url, redis_url, prefix, log):
        parts = urlsplit(database_url)
        self.db_name = parts.path.lstrip("/")
        if "bench" not in self.db_name:
            raise SystemExit(f"refusing to drop and re-create database {self.db_name!r}: its name must contain 'bench'")
        self.database_url = database_url
        self.redis_url = redis_url
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        self.db_created = False
        self.redis_flush_at_end = False
        self.env = dict(os.environ)
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "clickme_site.settings.base",
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "CLICKME_VAR_DIR": str(self.tmp / "var"),
                "CLICKME_MEDIA_ROOT": str(self.tmp / "media"),
                "DJANGO_STATIC_ROOT": str(self.tmp / "static"),
                "DJANGO_DEBUG": "false",
                "DJANGO_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            }
        )
        (self.tmp / "var").mkdir()
        (self.tmp / "media").mkdir()

    def _admin(self):
        import psycopg2

        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        return connection

    def database_create(self):
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True

    def database_drop(self):
        if not self.db_created:
            return
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self.db_created = False

    def redis_check(self):
        import redis

        size = redis.Redis.from_url(self.redis_url).dbsize()
        if size:
            self.log(f"warning: {self.redis_url} holds {size} keys already; it will not be flushed at the end")
        else:
            self.redis_flush_at_end = True

    def redis_flush(self):
        if not self.redis_flush_at_end:
            return
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        self.redis_flush_at_end = False

    def cleanup(self, *steps, keep_tmp=False):
        """Run each step (then drop the database and flush Redis) whatever fails; remove the folder."""
        for step in (*steps, self.database_drop, self.redis_flush):
            try:
                step()
            except Exception as error:  # keep cleaning up whatever failed
                self.log(f"cleanup: {step.__name__} failed: {error}")
        if keep_tmp:
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
