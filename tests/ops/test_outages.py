"""Outages: with Redis (cache and broker) down the game keeps answering and storing clicks and the
maps catch up through the stale-map sweep; a dropped database connection is replaced (health checks)
or answered 503, never 500, and a click post never answers an error for clicks it stored."""

import contextlib
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from annotations.models import ClickMap
from annotations.services import maps_rebuild_stale
from clickme_site.celery import app
from game import partner_play
from game.models import Round
from tests.game.conftest import PlayerClient

from .conftest import terminate_backend


@contextlib.contextmanager
def broker_at(url):
    """Point the Celery app's publishing at `url`, then give it back its own pools untouched (kombu
    keeps one pool per broker URL for the whole process: closing one would break later tests)."""
    saved = (app.conf.broker_url, app._pool, app.amqp._producer_pool)
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url
    try:
        yield
    finally:
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


def redis_cache(settings, url):
    """The project's own cache configuration (backend and options), pointed at `url`."""
    return {"default": {**settings.CACHES["default"], "LOCATION": url}}


def play_round(player, statuses):
    """Start a round and paint until it ends; every answer's status is recorded. Returns the round id
    and the clicks the server accepted."""
    started = player.post("/api/game/rounds/")
    statuses.append(started.status_code)
    round_id = started.json()["round_id"]
    accepted = []
    # A brush-like stroke (a click every 50 ms, 3.6 px apart, posted 10 at a time as the page does),
    # placed per round so no two rounds share a path: the quality rules must not flag these as bots and
    # keep them out of the maps, and a round won on its first post has the clicks a map needs.
    x0, y0 = 40 + (round_id * 37) % 100, 40 + (round_id * 61) % 120
    for k in range(3):
        clicks = [[x0 + 3 * (10 * k + j), y0 + 2 * (10 * k + j), 50 * (10 * k + j)] for j in range(10)]
        answer = player.clicks(round_id, clicks)
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            accepted += clicks
            if answer.json()["state"] != "open":
                break
    finished = player.post(f"/api/game/rounds/{round_id}/finish/")
    statuses.append(finished.status_code)
    return round_id, accepted


@pytest.mark.redis_only(reason="the outage is the cache's and broker's Redis server, stopped mid-game")
@pytest.mark.django_db(transaction=True)
def test_the_game_keeps_playing_through_a_redis_outage_and_the_sweep_builds_the_maps(
    own_redis, settings, recognised_images, unrecognised_images, ranked_partner, django_user_model
):
    settings.CACHES = redis_cache(settings, own_redis.url)
    researcher = Client(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=django_user_model.objects.create_user('ada')).key}"
    )
    statuses = []
    with broker_at(own_redis.url):
        veteran = PlayerClient()
        before = [play_round(veteran, statuses)]
        assert ClickMap.objects.count() == 0  # no worker here: the rebuild waits in the broker

        own_redis.stop()
        during = [play_round(veteran, statuses)]
        newcomer = PlayerClient()  # a first visit during the outage: a new session, in the database
        during += [play_round(newcomer, statuses) for _ in range(2)]
        for path in ("/api/game/me/", "/api/game/leaderboard/", "/"):
            statuses += [veteran.client.get(path).status_code, newcomer.client.get(path).status_code]
        statuses.append(veteran.patch("/api/game/me/", {"nickname": "outage"}).status_code)
        stats = researcher.get("/api/v1/stats/")
        statuses.append(stats.status_code)
        assert Client().get("/healthz/live").status_code == 200
        ready = Client().get("/healthz")
        assert ready.status_code == 503 and ready.json()["broker"] == "error"

    assert statuses and all(status in (200, 201) for status in statuses), str(statuses)
    assert stats.json()["n_rounds"] == 4
    for round_id, accepted in before + during:
        stored = Round.objects.get(pk=round_id)
        assert stored.clicks == accepted and stored.state in ("won", "expired")
    assert veteran.get("/api/game/me/").json()["nickname"] == "outage"

    maps_rebuild_stale()  # what beat's sweep runs every two minutes
    for round_id, _accepted in before + during:
        image_id = Round.objects.get(pk=round_id).image_id
        players = Round.objects.filter(image_id=image_id).values("player").distinct().count()
        assert ClickMap.objects.get(image_id=image_id).n_players == players


class TimedPlayer(PlayerClient):
    """A player whose every request's wall time (s) is recorded in `timings`."""

    def __init__(self, timings):
        self.timings = timings
        super().__init__()

    def post(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return super().post(*args, **kwargs)
        finally:
            self.timings.append(time.perf_counter() - began)


HANG_S = 12  # the hang of the fault probe: the watchdog ends it there, whatever the test is waiting for


@pytest.mark.redis_only(reason="the hang is a Redis server of the test's own stopped with SIGSTOP (cache and broker)")
@pytest.mark.django_db(transaction=True)
def test_a_hung_redis_costs_a_player_well_under_a_second_and_no_round(
    own_redis, settings, recognised_images, unrecognised_images, ranked_partner
):
    """Redis stopped with SIGSTOP keeps accepting connections and answers nothing: without timeouts a
    round's finish waited for the broker as long as the hang. Now the throttle's cache and the map
    rebuild's publish wait at most a short timeout, then skip Redis for a moment: every answer comes in
    well under a second, and every round played during the hang is stored and reaches its map."""
    settings.CACHES = redis_cache(settings, own_redis.url)
    statuses, timings = [], []
    with broker_at(own_redis.url):
        veteran = TimedPlayer(timings)
        before = [play_round(veteran, statuses)]  # the connections exist when the server hangs
        timings.clear()
        own_redis.pause()
        watchdog = threading.Timer(HANG_S, own_redis.resume)
        watchdog.start()
        try:
            hung_at = time.monotonic()
            during = []
            newcomer = TimedPlayer(timings)  # a first visit during the hang: a new session, throttled by IP
            while time.monotonic() - hung_at < 4 and len(during) < 12:
                during.append(play_round(veteran if len(during) % 2 else newcomer, statuses))
        finally:
            watchdog.cancel()
            own_redis.resume()
    assert statuses and all(status in (200, 201) for status in statuses), statuses
    p99 = float(np.percentile(timings, 99))
    assert max(timings) < 1.0, f"slowest answer {max(timings):.2f} s (p99 {p99:.2f} s) of {len(timings)}"
    assert len(during) >= 4, "the rounds took the hang's whole length"
    for round_id, accepted in before + during:
        stored = Round.objects.get(pk=round_id)
        assert stored.clicks == accepted and stored.state in ("won", "expired")
    maps_rebuild_stale()  # beat's sweep, once Redis is back: the rebuilds not published in the hang
    for round_id, _accepted in before + during:
        image_id = Round.objects.get(pk=round_id).image_id
        assert ClickMap.objects.get(image_id=image_id).n_players == Round.objects.filter(image_id=image_id).count()


@pytest.mark.postgres_only(
    reason="drops the connection with PostgreSQL's pg_terminate_backend; SQLite has no server to drop it"
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("images", ["unrecognised_images", "recognised_images"])
def test_a_connection_dropped_after_the_clicks_commit_still_answers_200_with_them(
    images, request, ranked_partner, monkeypatch
):
    request.getfixturevalue(images)
    player = PlayerClient()
    round_id = player.start()["round_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    original = partner_play.partner_guesses

    def guesses_then_drop(round_, pending):
        answer = original(round_, pending)
        terminate_backend(pid)  # after the clicks' commit, before the answer's writes
        return answer

    monkeypatch.setattr(partner_play, "partner_guesses", guesses_then_drop)
    response = player.clicks(round_id, [[100, 100, 0], [101, 100, 50]])
    connection.close()
    assert response.status_code == 200, response.content
    assert response.json()["state"] in ("open", "won")
    stored = Round.objects.get(pk=round_id)
    assert stored.clicks == [[100, 100, 0], [101, 100, 50]] and stored.n_clicks == 2
    monkeypatch.setattr(partner_play, "partner_guesses", original)
    again = player.clicks(round_id, [[102, 100, 100]])  # the player goes on; nothing is stored twice
    assert again.status_code in (200, 409)
    assert Round.objects.get(pk=round_id).clicks[:2] == [[100, 100, 0], [101, 100, 50]]


@pytest.mark.postgres_only(
    reason="drops the connection with PostgreSQL's pg_terminate_backend; SQLite has no server to drop it"
)
@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_before_a_click_post_is_503_with_retry_after_and_stores_nothing(
    unrecognised_images, ranked_partner
):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        terminate_backend(cursor.fetchone()[0])
    response = player.clicks(round_id, [[100, 100, 0]])  # the test client skips Django's health check
    connection.close()
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert int(response["Retry-After"]) >= 1
    assert Round.objects.get(pk=round_id).n_clicks == 0
    assert player.clicks(round_id, [[100, 100, 0]]).status_code == 200  # a retry stores them once
    assert Round.objects.get(pk=round_id).n_clicks == 1


def _post(base_url, path, body, cookies, csrf):
    parts = urlsplit(base_url)
    connection_ = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection_.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Cookie": cookies, "X-CSRFToken": csrf, "Host": "127.0.0.1"},
        )
        response = connection_.getresponse()
        return response.status, response.read()
    finally:
        connection_.close()


@pytest.mark.postgres_only(
    reason="drops the connection with PostgreSQL's pg_terminate_backend; SQLite has no server to drop it"
)
def test_a_server_connection_dropped_between_requests_is_replaced_by_the_health_check(
    wsgi_server, unrecognised_images, ranked_partner
):
    player = PlayerClient()  # the session and CSRF cookies come from the test client; requests go over HTTP
    round_id = player.start()["round_id"]
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in player.client.cookies.items())
    path = f"/api/game/rounds/{round_id}/clicks/"
    assert _post(wsgi_server.url, path, {"clicks": [[10, 10, 0]]}, cookies, player.csrf)[0] == 200
    terminate_backend(wsgi_server.backend_pid())  # PostgreSQL restarted, a proxy dropped the connection...
    status, body = _post(wsgi_server.url, path, {"clicks": [[11, 10, 50]]}, cookies, player.csrf)
    assert status == 200, body
    assert Round.objects.get(pk=round_id).clicks == [[10, 10, 0], [11, 10, 50]]
