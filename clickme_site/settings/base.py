"""Settings shared by every environment; everything that differs comes from environment variables.

With no DATABASE_URL / REDIS_URL the site runs on a bare laptop: SQLite under var/ and kombu's
filesystem broker (a real worker process still runs the tasks).
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("CLICKME_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="clickme-insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "csp",
    "django_celery_beat",
    "game",
    "annotations",
    "training",
    "frontend",
    "psychophysics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clickme_site.outages.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "clickme_site.urls"
WSGI_APPLICATION = "clickme_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clickme.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # a connection the server dropped is replaced, not reused
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the laptop fallback: wait for the lock instead of failing, and keep connections short.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # SQLite has no row locks: a transaction takes the write lock when it begins, so the click post's
    # locked path (read, check, append) runs one at a time, as under PostgreSQL's row lock, instead of
    # failing with "database is locked" when two meet after their reads.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # django-redis with IGNORE_EXCEPTIONS: with Redis down a read misses and a write is dropped (logged),
    # so nothing on a player's request path fails with the cache (PostgreSQL is the truth).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env.float("CLICKME_CACHE_TIMEOUT_S", default=0.25),
                "SOCKET_TIMEOUT": env.float("CLICKME_CACHE_TIMEOUT_S", default=0.25),
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "clickme_site.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("CLICKME_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Files no public URL may reach (masks, exports, partner artifacts, checkpoints, logs, curves): outside MEDIA_ROOT.
PRIVATE_ROOT = Path(env.str("CLICKME_PRIVATE_ROOT", default=str(VAR_DIR / "private")))

SESSION_ENGINE = "django.contrib.sessions.backends.db"  # the database alone: sessions live through a Redis outage
SESSION_COOKIE_AGE = 60 * 60 * 24 * 365
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["clickme_site.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["clickme_site.throttles.ScopedRateThrottle"],
    # Proxies in front that append to X-Forwarded-For (nginx: 1); 0 trusts REMOTE_ADDR alone (no spoofing).
    "NUM_PROXIES": env.int("CLICKME_NUM_PROXIES", default=0),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clickme_site.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ClickMe API",
    "DESCRIPTION": "The ClickMe game (players) and the research API (ClickMe maps, clicks, training).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport under var/broker.
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, str | int | bool] = {"visibility_timeout": 6 * 3600}
else:
    # The transport needs no host, but kombu warns "No hostname was supplied" on every connection without one.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "training.tasks.jobs_publish_unsent": {"queue": "celery"},  # a sweep: no torch, must not wait on a job
    "annotations.tasks.*": {"queue": "maps"},
    "training.tasks.*": {"queue": "training"},
    "psychophysics.tasks.observer_run": {"queue": "training"},
    "game.tasks.images_screen": {
        "queue": "training"
    },  # loads the partner's network  # loads a network: where torch workers are
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker's timer thread rechecks every 0.1 s, not 1 s: a warm shutdown waits for it (Ctrl-C in `make run`).
CELERY_WORKER_TIMER_PRECISION = 0.1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every periodic job is defined here (django-celery-beat copies this into its tables at start).
CELERY_BEAT_SCHEDULE = {
    "rounds-expire-stale": {"task": "game.tasks.rounds_expire_stale", "schedule": 60.0},
    # images imported or left unscreened while no worker was there (docs/SCIENCE.md section 1)
    "images-screen-pending": {"task": "game.tasks.images_screen", "schedule": 300.0},
    "maps-rebuild-stale": {"task": "annotations.tasks.maps_rebuild_stale", "schedule": 120.0},
    # work committed while the broker was down (its message never sent) is sent once it is back
    "exports-publish-unsent": {"task": "annotations.tasks.exports_publish_unsent", "schedule": 60.0},
    "training-jobs-publish-unsent": {"task": "training.tasks.jobs_publish_unsent", "schedule": 60.0},
    "training-retrain-if-due": {
        "task": "training.tasks.retrain_if_due",
        "schedule": crontab(minute=0, hour=env.int("CLICKME_RETRAIN_HOUR_UTC", default=3)),
    },
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Time limits per task kind (cookiecutter-django's soft/hard pair, with the long kinds set apart). The
# soft limit raises SoftTimeLimitExceeded in the task; the hard one kills its pool process (prefork).
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 120
TRAINING_JOB_TIME_LIMIT_S = env.int("CLICKME_TRAINING_JOB_TIME_LIMIT_S", default=72 * 3600)
CELERY_TASK_ANNOTATIONS = {
    # whole-table rebuilds grow with the data (every image, after an outage every stale one)
    "annotations.tasks.maps_rebuild_stale": {"soft_time_limit": 1800, "time_limit": 1900},
    "annotations.tasks.maps_rebuild_all": {"soft_time_limit": 5 * 3600, "time_limit": 5 * 3600 + 300},
    # an export ends (failed, with that reason) before its 10-minute lease lets another delivery claim it
    "annotations.tasks.export_build": {"soft_time_limit": 540, "time_limit": 600},
    # the watcher of a job's child process: the job's whole budget; at the soft limit it stops the
    # child and fails the job with that reason (the hard limit leaves time for that)
    "training.tasks.training_job_run": {
        "soft_time_limit": TRAINING_JOB_TIME_LIMIT_S,
        "time_limit": TRAINING_JOB_TIME_LIMIT_S + 120,
    },
}
# Workers log through Django's LOGGING (clickme_site/celery.py connects setup_logging), as
# cookiecutter-django does; `celery worker --loglevel` sets the root level.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The game (docs/SCIENCE.md section 1). Every number is a default that an environment variable changes.
CLICKME = {
    "IMAGE_SIZE_PX": 256,
    "PARTNER_CROP_PX": 224,
    "TIME_LIMIT_MS": env.int("CLICKME_TIME_LIMIT_MS", default=7000),
    "CLICK_GRACE_MS": env.int("CLICKME_CLICK_GRACE_MS", default=1500),
    # Clicks drawn within the limit (every t_ms <= TIME_LIMIT_MS) are still taken this long after the
    # limit and the grace: the page posts one batch at a time, so a slow answer delays the next batch.
    "CLICK_LATE_MS": env.int("CLICKME_CLICK_LATE_MS", default=10000),
    "BUBBLE_SIZE_PX": env.int("CLICKME_BUBBLE_SIZE_PX", default=14),
    "PARTNER_BUBBLE_PX": env.int("CLICKME_PARTNER_BUBBLE_PX", default=21),
    "NOISE_STD": env.float("CLICKME_NOISE_STD", default=0.4),
    "MAX_CLICKS": env.int("CLICKME_MAX_CLICKS", default=200),
    "MAX_CLICKS_PER_POST": env.int("CLICKME_MAX_CLICKS_PER_POST", default=100),
    "PLAYS_PER_IMAGE": env.int("CLICKME_PLAYS_PER_IMAGE", default=15),
    "IP_HASH_SALT": env.str("CLICKME_IP_HASH_SALT", default=SECRET_KEY),
    "NICKNAME_BLOCKLIST": env.list("CLICKME_NICKNAME_BLOCKLIST", default=["admin", "staff", "moderator"]),
    "TORCH_THREADS": env.int("CLICKME_TORCH_THREADS", default=1),
    # An open round's latest guesses (a display copy) are written by a thread of the web process this
    # long after a post, with those of every round posted meanwhile (game/guesses_writer.py); 0 writes
    # them after each answer is sent.
    "GUESSES_WRITE_DELAY_S": env.float("CLICKME_GUESSES_WRITE_DELAY_S", default=0.2),
    # A click post reads its session's player once per this many seconds per process, not on every
    # post (game/services.py player_id_for_session); a deleted session still posts for at most this long.
    "SESSION_PLAYER_TTL_S": env.float("CLICKME_SESSION_PLAYER_TTL_S", default=60.0),
}

# Game integrity (issue 7): which rounds feed a map and count towards retirement (docs/SCIENCE.md section 2,
# `min_clicks`: 10, the authors' processing default, and the first post of a careful round); the cheat and
# bot rule is game/round_quality.py.
CLICKME["MIN_CLICKS"] = env.int("CLICKME_MIN_CLICKS", default=10)

# Game validity (issue 8, docs/SCIENCE.md section 1): the win rule's k (unset: 5 where the partner has 100 or
# more categories, else 1; game/win_rule.py) and the highest zero-click win rate a promoted partner may have.
CLICKME["WIN_TOP_K"] = env.int("CLICKME_WIN_TOP_K", default=0)

# Training and scheduled retraining (docs/SCIENCE.md sections 4 and 5).
CLICKME_TRAINING = {
    "RETRAIN_MIN_NEW_MAPS": env.int("CLICKME_RETRAIN_MIN_NEW_MAPS", default=200),
    "MIN_TOP1_FIRST_PROMOTION": env.float("CLICKME_MIN_TOP1_FIRST_PROMOTION", default=0.5),
    "JOB_TIME_LIMIT_S": TRAINING_JOB_TIME_LIMIT_S,
    "DEFAULT_CONFIG": {
        "arch": "gala_resnet_tiny",
        "lambda_clickme": 10.0,
        "epochs": 30,
        "batch_size": 32,
        "image_size": 96,
        "seed": 0,
        "optimizer": "adamw",
        "lr": 0.002,
        "weight_decay": 0.0005,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"readiness_answers": {"()": "clickme_site.log_filters.ReadinessAnswers"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"filters": ["readiness_answers"]}},
}

# Platform: abuse limits, request bounds, security headers, private downloads (clickme_site/).
# Rates are "N/period" per session (players) or per token user (researchers), and "..._ip" per salted
# IP hash; period is s, min, h or d with an optional count ("20/10s"). A click post every 500 ms and
# a round every few seconds stay far below them (README, "Rate limits").
CLICKME_THROTTLE_RATES = {
    "round_start": env.str("CLICKME_THROTTLE_ROUND_START", default="40/min"),
    "round_start_ip": env.str("CLICKME_THROTTLE_ROUND_START_IP", default="600/min"),
    "clicks": env.str("CLICKME_THROTTLE_CLICKS", default="300/min"),
    "clicks_ip": env.str("CLICKME_THROTTLE_CLICKS_IP", default="6000/min"),
    "nickname": env.str("CLICKME_THROTTLE_NICKNAME", default="30/h"),
    "nickname_ip": env.str("CLICKME_THROTTLE_NICKNAME_IP", default="300/h"),
    "game": env.str("CLICKME_THROTTLE_GAME", default="600/min"),
    "game_ip": env.str("CLICKME_THROTTLE_GAME_IP", default="6000/min"),
    "research": env.str("CLICKME_THROTTLE_RESEARCH", default="1200/min"),
    "research_ip": env.str("CLICKME_THROTTLE_RESEARCH_IP", default="2400/min"),
    "exports": env.str("CLICKME_THROTTLE_EXPORTS", default="30/h"),
    "exports_ip": env.str("CLICKME_THROTTLE_EXPORTS_IP", default="60/h"),
    "training_jobs": env.str("CLICKME_THROTTLE_TRAINING_JOBS", default="20/h"),
    "training_jobs_ip": env.str("CLICKME_THROTTLE_TRAINING_JOBS_IP", default="40/h"),
    # participants: a trial every second or so is 3 requests (answer, stimulus, mask); a lab shares one IP
    "experiment": env.str("CLICKME_THROTTLE_EXPERIMENT", default="600/min"),
    "experiment_ip": env.str("CLICKME_THROTTLE_EXPERIMENT_IP", default="6000/min"),
    "experiment_join": env.str("CLICKME_THROTTLE_EXPERIMENT_JOIN", default="20/h"),
    "experiment_join_ip": env.str("CLICKME_THROTTLE_EXPERIMENT_JOIN_IP", default="600/h"),
    # round starts, nickname changes and experiment joins from browsers without a stored session, per IP:
    # each makes a new player or participant; a lab or classroom behind one NAT arrives within the hour
    "new_session_ip": env.str("CLICKME_THROTTLE_NEW_SESSION_IP", default="60/h"),
}
# Redis on a player's request path: the throttle's cache (CLICKME_CACHE_TIMEOUT_S above) and the broker's
# publishes (a finished round's map rebuild, an export, a training job: clickme_site/publishing.py) wait at
# most PUBLISH_TIMEOUT_S per call; after a failure or a timeout a web process skips that Redis for SKIP_S
# seconds (clickme_site/redis_skip.py): the throttle lets requests through, beat's sweeps send what was not sent.
CLICKME_REDIS = {
    "PUBLISH_TIMEOUT_S": env.float("CLICKME_BROKER_PUBLISH_TIMEOUT_S", default=0.25),
    "SKIP_S": env.float("CLICKME_REDIS_SKIP_S", default=2.0),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CLICKME_MAX_BODY_BYTES", default=1024 * 1024)  # larger bodies: 413
CSRF_FAILURE_VIEW = "clickme_site.errors.csrf_failure"  # JSON on /api/ paths
CLICKME_MAX_JSON_DEPTH = env.int("CLICKME_MAX_JSON_DEPTH", default=64)  # deeper JSON: 400
# With nginx in front: private downloads answer X-Accel-Redirect: <prefix><path> (an `internal`
# location aliased to PRIVATE_ROOT) instead of streaming the file through Python. Empty: Python serves.
CLICKME_X_ACCEL_REDIRECT_PREFIX = env.str("CLICKME_X_ACCEL_REDIRECT_PREFIX", default="")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Frontend (the game page and the API docs); grouped here so the other settings stay as they are.
# The brush: the page paints a bubble centre every BRUSH_INTERVAL_MS while the button is down, each at
# most BRUSH_MAX_STEP_PX from the last, and posts after POST_EVERY_CLICKS; the click-timing rule reads
# the same numbers.
CLICKME |= {
    "BRUSH_INTERVAL_MS": env.int("CLICKME_BRUSH_INTERVAL_MS", default=50),
    "BRUSH_MAX_STEP_PX": env.int("CLICKME_BRUSH_MAX_STEP_PX", default=7),
    "POST_EVERY_CLICKS": env.int("CLICKME_POST_EVERY_CLICKS", default=10),
}
# Hashed static names, with the ES modules' relative imports rewritten to them (no import map).
STORAGES["staticfiles"] = {"BACKEND": "frontend.static_storage.ModuleManifestStaticFilesStorage"}
# Swagger UI and ReDoc from the drf-spectacular-sidecar package: the docs work offline.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS |= {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR"}

# The rapid-categorisation experiment (docs/SCIENCE.md section 6).
CLICKME_PSYCHOPHYSICS = {
    "ID_HASH_SALT": env.str("CLICKME_PARTICIPANT_ID_SALT", default=SECRET_KEY),  # PROLIFIC_PID etc. are stored hashed
    "N_BOOT": env.int("CLICKME_PSYCHOPHYSICS_N_BOOT", default=2000),
}
