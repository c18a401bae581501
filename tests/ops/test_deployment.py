"""Deployment: production settings refuse weak secrets at start, check --deploy is clean with a proper
environment, compose carries no usable secret, and every page has a Content-Security-Policy that
allows no inline script."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(50)
GOOD_SALT = secrets.token_urlsafe(32)
GOOD_PARTICIPANT_SALT = secrets.token_urlsafe(32)
SECRETS = ("DJANGO_SECRET_KEY", "CLICKME_IP_HASH_SALT", "CLICKME_PARTICIPANT_ID_SALT")


def manage(args, **env):
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    base.update(
        {"DJANGO_SETTINGS_MODULE": "clickme_site.settings.production", "DJANGO_ALLOWED_HOSTS": "clickme.example.org"}
    )
    env = {"CLICKME_PARTICIPANT_ID_SALT": GOOD_PARTICIPANT_SALT, **env}
    base.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("key", "salt", "why"),
    [
        (None, GOOD_SALT, "not set"),
        ("", GOOD_SALT, "not set"),
        (GOOD_KEY, GOOD_SALT, None),  # a proper pair is accepted (the control)
        (secrets.token_urlsafe(20), GOOD_SALT, "shorter than 50"),
        ("insecure-placeholder-set-DJANGO_SECRET_KEY-in-.env", GOOD_SALT, "placeholder"),
        ("clickme-insecure-development-key-change-me" + "0123456789", GOOD_SALT, "placeholder"),
        ("a" * 64, GOOD_SALT, "distinct"),
        (GOOD_KEY, None, "CLICKME_IP_HASH_SALT"),
        (GOOD_KEY, GOOD_KEY, "CLICKME_IP_HASH_SALT"),
    ],
)
def test_production_settings_refuse_weak_secrets_at_start(key, salt, why):
    result = manage(["check"], DJANGO_SECRET_KEY=key, CLICKME_IP_HASH_SALT=salt)
    if why is None:
        assert result.returncode == 0, result.stderr[-2000:]
    else:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and why in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("participant_salt", ["", GOOD_KEY, GOOD_SALT])
def test_production_settings_refuse_a_participant_id_salt_that_is_missing_or_shared(participant_salt):
    result = manage(
        ["check"],
        DJANGO_SECRET_KEY=GOOD_KEY,
        CLICKME_IP_HASH_SALT=GOOD_SALT,
        CLICKME_PARTICIPANT_ID_SALT=participant_salt,
    )
    assert result.returncode != 0 and "CLICKME_PARTICIPANT_ID_SALT" in result.stderr, result.stderr[-2000:]


def test_check_deploy_is_clean_with_a_proper_environment():
    result = manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SECRET_KEY=GOOD_KEY,
        CLICKME_IP_HASH_SALT=GOOD_SALT,
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_compose_carries_no_usable_secret():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-app-env"]
    for name in SECRETS:
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", env[name]), env[name]  # unset: compose fails loudly


@pytest.mark.parametrize("staff", [False, True])
@pytest.mark.parametrize("path", ["/", "/leaderboard/", "/dashboard/", "/admin/", "/admin/login/", "/api/docs/"])
def test_every_page_has_a_csp_without_inline_script(client, db, django_user_model, path, staff):
    if staff:
        client.force_login(django_user_model.objects.create_user("boss", is_staff=True, is_superuser=True))
    response = client.get(path)
    assert response.status_code in (200, 302), response.status_code
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
