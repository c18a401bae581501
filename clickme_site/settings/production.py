"""Production settings: secrets and hosts must come from the environment; HTTPS is assumed.

Start-up refuses (ImproperlyConfigured) a missing, short or known placeholder secret key, and an
IP-hash salt (or participant-id salt) equal to the secret key (the salt is then as good as published with every hash).
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CLICKME, env

MIN_SECRET_KEY_LENGTH = 50
# Secrets that have appeared in this repository or its docs: never acceptable in production.
KNOWN_PLACEHOLDER_KEYS = {
    "clickme-insecure-development-key-change-me",
    "insecure-placeholder-set-DJANGO_SECRET_KEY-in-.env",
    "change-me",
    "changeme",
    "secret",
}


def secret_key_problem(key: str) -> str | None:
    """Why `key` is no production secret, or None when it will do."""
    if not key:
        return "DJANGO_SECRET_KEY is not set"
    lowered = key.lower()
    if key in KNOWN_PLACEHOLDER_KEYS or "insecure" in lowered or "change-me" in lowered or "placeholder" in lowered:
        return "DJANGO_SECRET_KEY is a known placeholder"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"DJANGO_SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    if len(set(key)) < 5:
        return "DJANGO_SECRET_KEY has fewer than 5 distinct characters"
    return None


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
_problem = secret_key_problem(SECRET_KEY)
if _problem:
    raise ImproperlyConfigured(
        f"{_problem}; generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
_salt = env.str("CLICKME_IP_HASH_SALT", default="")
if not _salt or _salt == SECRET_KEY:
    raise ImproperlyConfigured("CLICKME_IP_HASH_SALT must be set, and differ from DJANGO_SECRET_KEY")
CLICKME = {**CLICKME, "IP_HASH_SALT": _salt}
# Crowd ids (PROLIFIC_PID, workerId) are stored as salted hashes: the salt must be a secret of its own.
_participant_salt = env.str("CLICKME_PARTICIPANT_ID_SALT", default="")
if not _participant_salt or _participant_salt in (SECRET_KEY, _salt):
    raise ImproperlyConfigured(
        "CLICKME_PARTICIPANT_ID_SALT must be set, and differ from DJANGO_SECRET_KEY and CLICKME_IP_HASH_SALT"
    )
CLICKME_PSYCHOPHYSICS = {**CLICKME_PSYCHOPHYSICS, "ID_HASH_SALT": _participant_salt}  # noqa: F405

DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
