"""Every 4xx and 5xx the API can give is JSON {"detail", "code"} on /api/ paths: deep JSON is 400, a
body too large 413, unknown paths 404, wrong methods 405, wrong media types 415, a crash 500, and an
unreachable database 503 with Retry-After; bad export filters are 400 and queue nothing."""

import json

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.authtoken.models import Token

from annotations.models import Export
from game import selectors
from game.models import Round
from tests.game.conftest import PlayerClient


def deep(levels):
    return "[" * levels + "]" * levels


def error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"] and isinstance(body["code"], str)
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def researcher(db, django_user_model):
    user = django_user_model.objects.create_user("ada")
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


@pytest.mark.parametrize("levels", [65, 1000, 100_000])
def test_too_deep_json_is_400_on_every_json_endpoint(researcher, unrecognised_images, ranked_partner, levels):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    nested = '{"clicks": ' + deep(levels) + "}"
    error_shape(player.post(f"/api/game/rounds/{round_id}/clicks/", raw=nested), 400, "parse_error")
    error_shape(player.post("/api/game/rounds/", raw=deep(levels)), 400, "parse_error")
    error_shape(
        player.client.patch(
            "/api/game/me/", data=deep(levels), content_type="application/json", headers={"X-CSRFToken": player.csrf}
        ),
        400,
        "parse_error",
    )
    for path in ("/api/v1/exports/", "/api/v1/training/jobs/"):
        error_shape(researcher.post(path, data=deep(levels), content_type="application/json"), 400, "parse_error")
    assert Round.objects.get(pk=round_id).n_clicks == 0 and not Export.objects.exists()


def test_json_at_the_depth_limit_is_parsed(researcher, db):
    shallow = {"format": "npz", "filters": {}, "size": 64}
    assert (
        researcher.post("/api/v1/exports/", data=json.dumps(shallow), content_type="application/json").status_code
        == 202
    )
    inner = deep(62)  # a list 62 deep under one object key: 63 levels
    answer = researcher.post("/api/v1/exports/", data='{"filters": ' + inner + "}", content_type="application/json")
    assert error_shape(answer, 400)["code"] != "parse_error"


def test_a_body_over_the_limit_is_413_json_and_stores_nothing(
    researcher, settings, unrecognised_images, ranked_partner
):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    big = json.dumps({"clicks": [[1, 1, 0]] * 200_000})  # about 2 MB
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    error_shape(player.post(f"/api/game/rounds/{round_id}/clicks/", raw=big), 413, "too_large")
    error_shape(researcher.post("/api/v1/exports/", data=big, content_type="application/json"), 413, "too_large")
    form = "a=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)  # read by Django itself (CSRF check)
    error_shape(
        player.client.post("/api/game/nope/", data=form, content_type="application/x-www-form-urlencoded"),
        413,
        "too_large",
    )
    assert Round.objects.get(pk=round_id).n_clicks == 0 and not Export.objects.exists()


def test_unknown_paths_wrong_methods_and_media_types_are_json(researcher, db):
    error_shape(Client().get("/api/game/nope/"), 404, "not_found")
    error_shape(researcher.get("/api/v1/nope/"), 404, "not_found")
    error_shape(researcher.get("/api/v1/exports/0b6f3a52-8d2e-4f0c-9a51-2f1e0c7d4b11/"), 404, "not_found")
    error_shape(Client().get("/api/game/rounds/"), 405, "method_not_allowed")
    error_shape(researcher.delete("/api/v1/stats/"), 405, "method_not_allowed")
    error_shape(
        researcher.post("/api/v1/exports/", data="format=npz", content_type="text/plain"), 415, "unsupported_media_type"
    )
    csrf_refused = Client(enforce_csrf_checks=True).post("/api/game/nope/", data="{}", content_type="application/json")
    error_shape(csrf_refused, 403, "csrf_failed")
    assert Client().get("/no-such-page/").status_code == 404  # pages keep Django's HTML 404


def test_a_crash_is_a_json_500(db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "leaderboard", broken)
    error_shape(Client(raise_request_exception=False).get("/api/game/leaderboard/"), 500, "server_error")


def test_an_unreachable_database_is_503_with_retry_after(db, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "leaderboard", down)
    response = Client(raise_request_exception=False).get("/api/game/leaderboard/")
    error_shape(response, 503, "unavailable")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("filters", [[], "category=1", 7, None, True, [{"category": 1}]])
def test_export_filters_must_be_an_object(researcher, filters):
    body = json.dumps({"format": "npz", "filters": filters})
    answer = error_shape(researcher.post("/api/v1/exports/", data=body, content_type="application/json"), 400)
    assert "filters" in answer["detail"]
    assert not Export.objects.exists()
