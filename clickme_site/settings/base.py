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
    "django_celery_beat",
    "game",
    "annotations",
    "training",
    "frontend",
    "psychophysics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the laptop fallback: wait for the lock instead of failing, and keep connections short.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
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

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # read from the cache, written through to the db
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
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
else:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
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
    "annotations.tasks.*": {"queue": "maps"},
    "training.tasks.*": {"queue": "training"},
    "psychophysics.tasks.observer_run": {"queue": "training"},  # loads a network: where torch workers are
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every periodic job is defined here (django-celery-beat copies this into its tables at start).
CELERY_BEAT_SCHEDULE = {
    "rounds-expire-stale": {"task": "game.tasks.rounds_expire_stale", "schedule": 60.0},
    "maps-rebuild-stale": {"task": "annotations.tasks.maps_rebuild_stale", "schedule": 120.0},
    "training-retrain-if-due": {
        "task": "training.tasks.retrain_if_due",
        "schedule": crontab(minute=0, hour=env.int("CLICKME_RETRAIN_HOUR_UTC", default=3)),
    },
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3

# The game (SCIENCE.md section 1). Every number is a default that an environment variable changes.
CLICKME = {
    "IMAGE_SIZE_PX": 256,
    "PARTNER_CROP_PX": 224,
    "TIME_LIMIT_MS": env.int("CLICKME_TIME_LIMIT_MS", default=7000),
    "CLICK_GRACE_MS": env.int("CLICKME_CLICK_GRACE_MS", default=1500),
    "BUBBLE_SIZE_PX": env.int("CLICKME_BUBBLE_SIZE_PX", default=14),
    "PARTNER_BUBBLE_PX": env.int("CLICKME_PARTNER_BUBBLE_PX", default=21),
    "NOISE_STD": env.float("CLICKME_NOISE_STD", default=0.4),
    "MAX_CLICKS": env.int("CLICKME_MAX_CLICKS", default=200),
    "MAX_CLICKS_PER_POST": env.int("CLICKME_MAX_CLICKS_PER_POST", default=100),
    "PLAYS_PER_IMAGE": env.int("CLICKME_PLAYS_PER_IMAGE", default=15),
    "IP_HASH_SALT": env.str("CLICKME_IP_HASH_SALT", default=SECRET_KEY),
    "NICKNAME_BLOCKLIST": env.list("CLICKME_NICKNAME_BLOCKLIST", default=["admin", "staff", "moderator"]),
    "TORCH_THREADS": env.int("CLICKME_TORCH_THREADS", default=1),
}

# Training and scheduled retraining (SCIENCE.md sections 4 and 5).
CLICKME_TRAINING = {
    "RETRAIN_MIN_NEW_MAPS": env.int("CLICKME_RETRAIN_MIN_NEW_MAPS", default=200),
    "MIN_TOP1_FIRST_PROMOTION": env.float("CLICKME_MIN_TOP1_FIRST_PROMOTION", default=0.5),
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
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

# The rapid-categorisation experiment (SCIENCE.md section 6).
CLICKME_PSYCHOPHYSICS = {
    "ID_HASH_SALT": env.str("CLICKME_PARTICIPANT_ID_SALT", default=SECRET_KEY),  # PROLIFIC_PID etc. are stored hashed
    "N_BOOT": env.int("CLICKME_PSYCHOPHYSICS_N_BOOT", default=2000),
}
