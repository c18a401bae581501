"""docs/API.md: too many requests from one session or IP get 429 `throttled` with Retry-After, per scope, and
nothing is stored for a refused request; realistic play is never throttled; a cache outage lets
requests through (logged) rather than stopping the game."""

import itertools
import json
import math
import multiprocessing
import secrets
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.models import Export
from clickme_site import redis_skip, throttles
from clickme_site.settings import base
from clickme_site.throttles import parse_rate
from game.models import Image, Player, Round
from tests.game.conftest import PlayerClient
from tests.ops.throttle_child import take_many
from training.models import TrainingJob

_ips = itertools.count(1)


class Clock:
    """The throttle's clock, pinned half a second into a day and moved by the test."""

    def __init__(self):
        self.now = (time.time() // 86400) * 86400 + 0.5

    def time(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(settings, monkeypatch):
    """Counters of earlier tests (same IP, same user ids after a flush) must not count here, nor a
    failure of a Redis server another test stopped; the throttle's clock stands still unless moved."""
    if hasattr(cache, "delete_pattern"):  # django-redis
        cache.delete_pattern("throttle:*")
    else:  # the embedded default's file-based cache (the SQLite lane's own folder): nothing else to keep
        cache.clear()
    redis_skip.reset()
    pinned = Clock()
    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=pinned.time))
    settings.CLICKME_THROTTLE_RATES = {name: "" for name in settings.CLICKME_THROTTLE_RATES}
    yield pinned
    redis_skip.reset()


def player(ip=None):
    client = PlayerClient()
    client.client.defaults["REMOTE_ADDR"] = ip or f"10.9.{next(_ips) % 250}.{next(_ips) % 250}"
    return client


def rates(settings, **changes):
    settings.CLICKME_THROTTLE_RATES = {**settings.CLICKME_THROTTLE_RATES, **changes}


def assert_throttled(response, period_s):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled" and body["detail"]
    assert 1 <= int(response["Retry-After"]) <= period_s


def test_round_starts_past_the_session_rate_get_429_and_start_nothing(settings, unrecognised_images, ranked_partner):
    rates(settings, round_start="3/min")
    client = player()
    client.start()  # a first visit has no session yet: only its IP's rate counts it
    for _ in range(3):
        client.start()
    assert_throttled(client.post("/api/game/rounds/"), 60)
    assert Round.objects.count() == 4
    assert player().post("/api/game/rounds/").status_code == 201  # another session is not affected


def test_round_starts_past_the_ip_rate_get_429_whatever_the_session(settings, unrecognised_images, ranked_partner):
    rates(settings, round_start="100/min", round_start_ip="4/min")
    shared_ip = "10.77.0.1"
    for _ in range(4):
        player(shared_ip).start()  # four cookie jars: a bot that drops its cookies
    assert_throttled(player(shared_ip).post("/api/game/rounds/"), 60)
    assert Round.objects.count() == 4
    assert player("10.77.0.2").post("/api/game/rounds/").status_code == 201


def test_click_posts_past_the_rate_get_429_and_the_clicks_stay(settings, unrecognised_images, ranked_partner):
    rates(settings, clicks="4/10s")
    client = player()
    round_id = client.start()["round_id"]
    for k in range(4):
        assert client.clicks(round_id, [[10 + k, 10, 100 * k]]).status_code == 200
    assert_throttled(client.clicks(round_id, [[50, 50, 900]]), 10)
    assert Round.objects.get(pk=round_id).n_clicks == 4


def test_nickname_changes_past_the_rate_get_429_but_reading_me_does_not_count(settings, db):
    rates(settings, nickname="2/h")
    client = player()
    answers = [client.patch("/api/game/me/", {"nickname": name}) for name in ("ada", "grace", "eve", "mallory")]
    codes = [answer.status_code for answer in answers]
    # two per session; a first request without a session yet is counted by its IP alone
    assert codes in ([200, 200, 429, 429], [200, 200, 200, 429]), codes
    assert_throttled(answers[-1], 3600)
    accepted = [name for name, code in zip(("ada", "grace", "eve"), codes, strict=False) if code == 200]
    assert client.get("/api/game/me/").json()["nickname"] == accepted[-1]
    assert client.get("/api/game/me/").status_code == 200
    assert Player.objects.filter(nickname="mallory").count() == 0


def researcher(django_user_model, name):
    client = APIClient(REMOTE_ADDR=f"10.88.0.{next(_ips) % 250}")
    user = django_user_model.objects.create_user(name)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_research_api_is_throttled_per_token(settings, db, django_user_model):
    rates(settings, research="3/min")
    ada, grace = researcher(django_user_model, "ada"), researcher(django_user_model, "grace")
    for _ in range(3):
        assert ada.get("/api/v1/categories/").status_code == 200
    assert_throttled(ada.get("/api/v1/categories/"), 60)
    assert grace.get("/api/v1/categories/").status_code == 200


def test_exports_have_their_own_rate_and_a_refused_one_queues_nothing(settings, db, django_user_model):
    rates(settings, exports="1/h", research="100/min")
    ada = researcher(django_user_model, "ada")
    assert ada.post("/api/v1/exports/", {"format": "npz"}, format="json").status_code == 202
    assert_throttled(ada.post("/api/v1/exports/", {"format": "npz"}, format="json"), 3600)
    assert Export.objects.count() == 1
    assert ada.get("/api/v1/images/").status_code == 200  # reading is another scope


def test_training_job_submissions_have_their_own_rate(settings, db, django_user_model):
    rates(settings, training_jobs="1/h")
    ada = researcher(django_user_model, "ada")
    first = ada.post("/api/v1/training/jobs/", {"config": {"arch": "nope"}}, format="json")
    assert first.status_code == 400  # counted all the same: a flood of bad submissions is a flood
    assert_throttled(ada.post("/api/v1/training/jobs/", {"config": {"arch": "nope"}}, format="json"), 3600)
    assert TrainingJob.objects.count() == 0


@pytest.fixture
def experiment(db):
    from game.models import Category
    from tests.psychophysics.conftest import make_experiment, ready

    pair = [Category.objects.create(name=f"kind {k}", wnid=f"t{k:07d}") for k in range(2)]
    return ready(make_experiment(pair, n_per_category=2, slug="throttled"))


def test_experiment_participants_are_throttled_and_a_refused_answer_stores_nothing(settings, experiment):
    from psychophysics.models import Participant, Trial
    from tests.psychophysics.conftest import ParticipantClient

    rates(settings, experiment="3/min", experiment_join_ip="1/h")
    participant = ParticipantClient(experiment.slug)  # the page itself is not an API request
    state = participant.join()
    # a new browser from the same address (its first request has no session yet: the IP rate holds it)
    assert_throttled(ParticipantClient(experiment.slug).post("participant/", {"consent": True}), 3600)
    assert Participant.objects.count() == 1  # the refused join stored nothing
    for _ in range(3):
        answer = participant.answer(state["trials"][0]["id"])
        assert answer.status_code == 200, answer.content
        state = answer.json()["state"]
    assert_throttled(participant.answer(state["trials"][0]["id"]), 60)
    assert Trial.objects.filter(responded_at__isnull=False).count() == 3  # the refused answer stored nothing


def test_the_default_rates_leave_realistic_play_alone():
    """A browser posts at most every 500 ms while painting (10 clicks per post, 20 clicks/s) and starts
    a round at most every 2.5 s (won on its first post, 2 s between rounds): with 25% to spare."""
    defaults = base.CLICKME_THROTTLE_RATES
    for scope, per_minute in (("clicks", 120), ("round_start", 24)):
        limit, period_s = parse_rate(defaults[scope])
        assert limit / period_s * 60 >= 1.25 * per_minute, scope
    limit, period_s = parse_rate(defaults["round_start"])
    assert limit / period_s * 10 < 135  # ... and the flood of the issue (135 starts in 10 s) is stopped


def test_rates_are_parsed_strictly():
    assert parse_rate("40/min") == (40, 60) and parse_rate("20/10s") == (20, 10) and parse_rate("30/h") == (30, 3600)
    for bad in ("40", "40/fortnight", "x/min", ""):
        with pytest.raises(ValueError):
            parse_rate(bad)


@pytest.mark.redis_only(reason="the outage is a Redis server that does not answer; the file-based cache has no server")
def test_a_cache_outage_lets_requests_through_and_is_logged(settings, unrecognised_images, ranked_partner, caplog):
    rates(settings, round_start="1/min", clicks="1/min")
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}  # no one there
    client = player()
    round_id = client.start()["round_id"]
    client.start()
    assert client.clicks(client.start()["round_id"], [[1, 1, 0]]).status_code == 200
    assert client.post(f"/api/game/rounds/{round_id}/finish/").status_code == 200
    assert Round.objects.count() == 3
    # logged by django-redis (clickme_site.cache) or by the throttle's own pipelined round trip
    assert any(
        r.name in ("clickme_site.cache", "clickme_site.throttles") and r.levelname == "WARNING" for r in caplog.records
    )
    assert json.loads(client.get("/api/game/me/").content)["rounds_played"] >= 1


def test_a_forged_forwarded_for_does_not_escape_the_ip_rate(settings, unrecognised_images, ranked_partner):
    rates(settings, round_start="100/min", round_start_ip="2/min")
    for k in range(2):
        bot = player("10.66.0.1")
        bot.client.defaults["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{k}"
        bot.start()
    bot = player("10.66.0.1")
    bot.client.defaults["HTTP_X_FORWARDED_FOR"] = "192.0.2.99"
    assert_throttled(bot.post("/api/game/rounds/"), 60)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # behind one trusted proxy
    assert bot.post("/api/game/rounds/").status_code == 201  # now the forwarded address is the client's


def test_no_minute_lets_more_than_the_rate_through_even_across_a_minutes_turn(settings, db, clock):
    """A fixed window let 54 round starts through in 7.5 s against 40/min (its count starts again at the
    minute's turn); a sliding window lets at most 40 through in any 60 s, and says when the next fits."""
    rates(settings, game="40/min")
    client = player()
    assert client.patch("/api/game/me/", {"nickname": "hasty"}).status_code == 200  # a session of its own
    clock.now += 52.0  # 8 s before a minute's turn
    first = clock.now
    codes = []
    for _ in range(100):  # 100 requests in 7.5 s, across the turn
        codes.append(client.get("/api/game/me/").status_code)
        clock.now += 0.075
    assert codes.count(200) == 40 and set(codes) == {200, 429}, codes
    refused = client.get("/api/game/me/")
    assert_throttled(refused, 60)
    assert int(refused["Retry-After"]) == math.ceil(first + 60 - clock.now)  # when the first leaves the window
    clock.now = first + 60 - 0.01
    assert client.get("/api/game/me/").status_code == 429
    clock.now = first + 60.01
    assert client.get("/api/game/me/").status_code == 200


@pytest.mark.parametrize(
    "world",
    [
        pytest.param("redis", marks=pytest.mark.redis_only(reason="the Lua script runs in the test Redis")),
        "file",
    ],
)
def test_concurrent_processes_never_pass_more_than_the_rate(world, settings, db, tmp_path, monkeypatch):
    """Four processes (gunicorn's workers, make run's embedded default) ask at once: exactly the rate passes,
    on Redis (one atomic script) and on the file-based cache (a file lock beside it)."""
    cache_dir = str(tmp_path / "cache") if world == "file" else ""
    if world == "redis":
        cache.delete("throttle:concurrency:test")
    context = multiprocessing.get_context("forkserver")
    out = context.Queue()
    workers = [context.Process(target=take_many, args=(25, 30, cache_dir, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    passed = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sum(passed) == 30, passed


def test_round_starts_from_browsers_without_a_session_are_limited_per_ip_as_new_sessions(
    settings, unrecognised_images, ranked_partner
):
    """Dropping the cookie (or sending a made-up one) makes every round start a new player's: such starts
    are counted per IP as new sessions, and past that rate start nothing; browsers that kept their
    session play on."""
    rates(settings, new_session_ip="3/h")
    shared_ip = "10.55.0.1"
    kept = [player(shared_ip) for _ in range(3)]
    for browser in kept:
        browser.start()
    assert_throttled(player(shared_ip).post("/api/game/rounds/"), 3600)
    forged = player(shared_ip)
    forged.client.cookies["sessionid"] = secrets.token_hex(16)  # names no stored session
    assert_throttled(forged.post("/api/game/rounds/"), 3600)
    nickname_first = player(shared_ip).patch("/api/game/me/", {"nickname": "newcomer"})
    assert_throttled(nickname_first, 3600)
    assert Player.objects.count() == 3 and Round.objects.count() == 3
    assert kept[0].post("/api/game/rounds/").status_code == 201  # a stored session is not a new one
    assert player("10.55.0.2").post("/api/game/rounds/").status_code == 201  # another address is not affected


def test_experiment_joins_from_browsers_without_a_session_are_limited_per_ip_as_new_sessions(settings, experiment):
    from psychophysics.models import Participant
    from tests.psychophysics.conftest import ParticipantClient

    rates(settings, new_session_ip="2/h")
    first = ParticipantClient(experiment.slug)
    first.join()
    ParticipantClient(experiment.slug).join()
    third = ParticipantClient(experiment.slug)
    assert_throttled(third.post("participant/", {"consent": True}), 3600)
    third.client.cookies["sessionid"] = secrets.token_hex(16)
    assert_throttled(third.post("participant/", {"consent": True}), 3600)
    assert Participant.objects.count() == 2
    assert first.post("participant/", {"consent": True}).status_code == 200  # its own session resumes


def test_a_throwaway_session_flood_feeds_no_map_and_retires_no_image(
    settings, unrecognised_images, ranked_partner, clock
):
    """The loop {drop the session cookie; start a round; post one click; finish} from one address for 90 s,
    under the deployed rates and MIN_CLICKS: few of its starts get through, and none of its rounds may
    feed a map or count towards an image's retirement."""
    settings.CLICKME_THROTTLE_RATES = dict(base.CLICKME_THROTTLE_RATES)
    settings.CLICKME = {**settings.CLICKME, "MIN_CLICKS": base.CLICKME["MIN_CLICKS"], "PLAYS_PER_IMAGE": 2}
    started = refused = 0
    for _ in range(100):
        bot = player("10.44.0.1")
        answer = bot.post("/api/game/rounds/")
        if answer.status_code == 429:
            refused += 1
        else:
            assert answer.status_code == 201, answer.content
            started += 1
            round_id = answer.json()["round_id"]
            assert bot.clicks(round_id, [[30, 30, 0]]).status_code == 200
            assert bot.post(f"/api/game/rounds/{round_id}/finish/").status_code == 200
        clock.now += 0.9
    limit, _period = parse_rate(base.CLICKME_THROTTLE_RATES["new_session_ip"])
    assert started == limit and refused == 100 - limit
    assert Round.objects.filter(state__in=["won", "expired"]).count() == started
    assert Round.objects.map_eligible().count() == 0
    assert Image.objects.filter(retired=True).count() == 0
    assert sum(Image.objects.values_list("completed_rounds", flat=True)) == 0
