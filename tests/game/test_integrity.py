"""Issue 7 over the real stack: abandoned rounds do not retire images, a GET stores nothing, bots are
flagged and left out of the maps and the leaderboard, bans and deletions rebuild the maps."""

import io

import numpy as np
import pytest
from django.contrib.sessions.models import Session

from annotations import maps
from annotations.models import ClickMap
from annotations.services import map_rebuild
from game import moderation
from game import round_quality as rq
from game.models import Image, Player, Round
from game.signals import images_changed
from game.simulated_players import trajectory
from tests.annotations.conftest import mask_of
from tests.conftest import synthetic_image


def map_array(clickmap):
    return np.load(io.BytesIO(bytes(clickmap.data)))


def play(client, clicks, post_every=10):
    """Start a round, post `clicks` in batches, finish it if still open; the round's id."""
    body = client.start()
    state = "open"
    for begin in range(0, len(clicks), post_every):
        answer = client.clicks(body["round_id"], clicks[begin : begin + post_every])
        assert answer.status_code == 200, answer.content
        state = answer.json()["state"]
        if state != "open":
            break
    if state == "open":
        client.post(f"/api/game/rounds/{body['round_id']}/finish/")
    return body["round_id"]


# ---- retirement counts only rounds that can feed a map


def test_four_sessions_abandoning_zero_click_rounds_retire_no_image(
    make_player, unrecognised_images, ranked_partner, settings
):
    settings.CLICKME = {**settings.CLICKME, "PLAYS_PER_IMAGE": 2}
    for session in [make_player() for _ in range(4)]:
        for _ in unrecognised_images:
            body = session.start()  # starting the next round abandons this one
        session.post(f"/api/game/rounds/{body['round_id']}/finish/")
    assert Round.objects.filter(state="expired", n_clicks=0).count() == 16
    for image in Image.objects.all():
        assert (image.completed_rounds, image.n_abandoned, image.retired) == (0, 4, False)
    assert make_player().post("/api/game/rounds/").status_code == 201  # a newcomer still gets an image


def test_rounds_below_min_clicks_are_abandoned_and_enough_clicks_retire(
    make_player, unrecognised_images, ranked_partner, settings
):
    settings.CLICKME = {**settings.CLICKME, "PLAYS_PER_IMAGE": 2, "MIN_CLICKS": 5}
    image = unrecognised_images[0]
    Image.objects.exclude(pk=image.pk).update(active=False)
    short = [[10 + k, 10, 50 * k] for k in range(4)]
    enough = [[10 + k, 10, 50 * k] for k in range(5)]
    for clicks in (short, short, enough):
        play(make_player(), clicks)
    image.refresh_from_db()
    assert (image.completed_rounds, image.n_abandoned, image.retired) == (1, 2, False)
    play(make_player(), [[40 + k, 12, 50 * k] for k in range(6)])
    image.refresh_from_db()
    assert (image.completed_rounds, image.n_abandoned, image.retired) == (2, 2, True)


# ---- a GET never creates a player or a session


def test_a_cookieless_get_creates_no_player_and_no_session(client, db):
    for path in ("/api/game/me/", "/api/game/leaderboard/", "/", "/leaderboard/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "sessionid" not in response.cookies
    assert client.get("/api/game/me/").json() == {
        "player_id": None,
        "nickname": "",
        "total_score": 0,
        "rounds_played": 0,
        "rounds_won": 0,
        "rounds_skipped": 0,
        "consented": False,
    }
    assert (Player.objects.count(), Session.objects.count()) == (0, 0)


def test_posts_about_rounds_from_a_session_without_player_are_404_and_create_nothing(make_player, db):
    visitor = make_player()  # has the CSRF cookie of the game page, no player yet
    for action in ("finish", "skip"):
        response = visitor.post(f"/api/game/rounds/1/{action}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert visitor.clicks(1, [[1, 1, 0]]).status_code == 404
    assert (Player.objects.count(), Session.objects.count()) == (0, 0)


def test_a_round_start_creates_the_player_and_the_session(player_client, unrecognised_images, ranked_partner):
    player_client.start()
    assert (Player.objects.count(), Session.objects.count()) == (1, 1)
    me = player_client.get("/api/game/me/").json()
    assert me["player_id"] == str(Player.objects.get().public_id)


# ---- bots are flagged, and left out of the map and the leaderboard


@pytest.fixture
def humans_and_bots(make_player, categories, ranked_partner):
    """One never-recognised image; 3 careful simulated players and 4 scripted bots play it over HTTP."""
    image = synthetic_image(categories[5], 0)
    mask = mask_of(image)
    rng = np.random.default_rng(7)
    humans = [play(make_player(), trajectory(mask, rng, n_clicks=40).tolist()) for _ in range(3)]
    path = [[30 + 3 * k, 200 - 2 * k, 50 * k] for k in range(12)]
    bots = {
        "replay 1": play(make_player(), path),
        "replay 2": play(make_player(), [[x, y, t + 20] for x, y, t in path]),
        "teleport": play(make_player(), [[(37 * k) % 250, (91 * k) % 250, 50 * k] for k in range(20)]),
        "metronome": play(make_player(), [[20 + k, 20 + k % 3, 150 * k] for k in range(20)]),
        "frozen": play(make_player(), [[128, 128, 50 * k] for k in range(20)]),
        "instant": play(make_player(), [[60 + k, 60, 0] for k in range(20)]),
    }
    return image, humans, bots


def test_scripted_bots_are_flagged_and_careful_players_are_not(humans_and_bots):
    _image, humans, bots = humans_and_bots
    flags = dict(Round.objects.values_list("pk", "quality_flags"))
    assert [flags[pk] for pk in humans] == [[], [], []]
    assert flags[bots["replay 1"]] == flags[bots["replay 2"]] == [rq.DUPLICATE_PATH]
    assert rq.TELEPORT in flags[bots["teleport"]]
    assert flags[bots["metronome"]] == [rq.REGULAR_TIMING]
    assert flags[bots["frozen"]] == [rq.STATIC]
    assert rq.TOO_FAST in flags[bots["instant"]]
    assert set(Round.objects.filter(flagged=True).values_list("pk", flat=True)) == set(bots.values())


def test_the_map_is_built_from_the_careful_players_alone(humans_and_bots):
    image, humans, _bots = humans_and_bots
    image.refresh_from_db()
    assert (image.completed_rounds, image.n_flagged) == (3, 6)
    clickmap = map_rebuild(image_id=image.pk)
    human_clicks = [np.array(r.clicks, dtype=np.float64) for r in Round.objects.filter(pk__in=humans)]
    expected = maps.clickme_map(human_clicks, 256, 256)
    assert clickmap.n_players == 3 and clickmap.n_clicks == 120
    assert np.abs(map_array(clickmap) - expected).max() < 1e-4


def test_a_ban_takes_a_players_rounds_out_of_the_map_and_back_in(
    make_player, categories, ranked_partner, django_capture_on_commit_callbacks
):
    image = synthetic_image(categories[5], 0)
    rng = np.random.default_rng(3)
    mask = mask_of(image)
    for _ in range(2):
        play(make_player(), trajectory(mask, rng, n_clicks=30).tolist())
    corner = make_player()  # paints like a person, in a corner: no rule flags it, an admin does
    in_corner = np.zeros((256, 256), dtype=bool)
    in_corner[:20, :20] = True
    corner_round = play(corner, trajectory(in_corner, rng, n_clicks=30).tolist())
    assert Round.objects.get(pk=corner_round).quality_flags == []
    with_corner = map_rebuild(image_id=image.pk)
    before = map_array(with_corner)
    assert with_corner.n_players == 3 and before[:20, :20].max() > 0.5

    player = Player.objects.get(rounds__pk=corner_round)
    received = []
    images_changed.connect(lambda sender, image_ids, **kw: received.append(image_ids), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            moderation.player_ban(player=player)
    finally:
        images_changed.disconnect(dispatch_uid="t")
    assert received == [[image.pk]]
    image.refresh_from_db()
    assert (image.completed_rounds, image.n_flagged) == (2, 1)
    banned = map_rebuild(image_id=image.pk)
    after = map_array(banned)
    assert banned.n_players == 2 and after[:20, :20].max() < 0.05
    moderation.player_ban(player=player, banned=False)
    restored = map_rebuild(image_id=image.pk)
    assert restored.n_players == 3
    assert np.abs(map_array(restored) - before).max() < 1e-6


def test_a_replay_found_later_flags_the_earlier_round_and_rebuilds_its_map(
    make_player, categories, ranked_partner, django_capture_on_commit_callbacks
):
    first_image, second_image = synthetic_image(categories[5], 0), synthetic_image(categories[6], 1)
    bot = make_player()
    path = [[90 + 4 * k, 90 + 3 * k, 50 * k] for k in range(15)]
    first = play(bot, path)
    assert Round.objects.get(pk=first).quality_flags == []  # nothing to compare it with yet
    map_rebuild(image_id=Round.objects.get(pk=first).image_id)
    received = []
    images_changed.connect(lambda sender, image_ids, **kw: received.append(image_ids), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            second = play(bot, path)  # the same path on the other image
    finally:
        images_changed.disconnect(dispatch_uid="t")
    flags = dict(Round.objects.values_list("pk", "quality_flags"))
    assert flags[first] == flags[second] == [rq.DUPLICATE_PATH]
    first_image_id = Round.objects.get(pk=first).image_id
    assert received == [[first_image_id]]
    assert {first_image.pk, second_image.pk} == set(Round.objects.values_list("image_id", flat=True))
    assert (
        map_rebuild(image_id=first_image_id) is None and not ClickMap.objects.filter(image_id=first_image_id).exists()
    )


def test_forty_rounds_in_six_seconds_earn_no_place_on_the_leaderboard(make_player, categories, ranked_partner):
    for k in range(41):
        synthetic_image(categories[k % 5], k)  # categories the partner always recognises
    human = make_player()
    human.patch("/api/game/me/", {"nickname": "human"})
    play(human, [[5, 5, 700]])
    bot = make_player()
    bot.patch("/api/game/me/", {"nickname": "speedy"})
    for _ in range(40):
        play(bot, [[5, 5, 0]])
    bot_rounds = Round.objects.filter(player__nickname="speedy")
    assert bot_rounds.count() == 40 and set(bot_rounds.values_list("state", flat=True)) == {"won"}
    assert all(rq.INHUMAN_PACE in flags for flags in bot_rounds.values_list("quality_flags", flat=True))
    entries = bot.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [(e["nickname"], e["score"]) for e in entries] == [("human", 90)]
    assert Round.objects.get(player__nickname="human").quality_flags == []


def test_a_hidden_nickname_shows_as_anonymous_on_the_leaderboard(make_player, categories, ranked_partner):
    synthetic_image(categories[0], 0)
    player = make_player()
    player.patch("/api/game/me/", {"nickname": "rude word"})
    play(player, [[5, 5, 700]])
    moderation.player_nickname_hide(player=Player.objects.get(nickname="rude word"))
    entries = player.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [e["nickname"].startswith("anonymous ") for e in entries] == [True]
    assert entries[0]["is_me"] is True


def test_deleting_rounds_recounts_their_image_and_rebuilds_its_map(make_player, categories, ranked_partner):
    image = synthetic_image(categories[5], 0)
    rng = np.random.default_rng(4)
    mask = mask_of(image)
    rounds = [play(make_player(), trajectory(mask, rng, n_clicks=20).tolist()) for _ in range(3)]
    map_rebuild(image_id=image.pk)
    assert moderation.rounds_delete(round_ids=rounds[:1]) == 1
    image.refresh_from_db()
    assert image.completed_rounds == 2
    assert map_rebuild(image_id=image.pk).n_players == 2
    player = Player.objects.get(rounds__pk=rounds[1])
    assert moderation.player_delete(player=player) == 1
    assert not Player.objects.filter(pk=player.pk).exists()
    image.refresh_from_db()
    assert image.completed_rounds == 1 and map_rebuild(image_id=image.pk).n_players == 1


def test_a_fault_in_judging_a_round_does_not_cost_the_player_the_win(
    player_client, recognised_images, ranked_partner, monkeypatch
):
    def broken(round_):
        raise RuntimeError("a bug in the rule")

    monkeypatch.setattr(moderation, "round_judge", broken)
    body = player_client.start()
    answer = player_client.clicks(body["round_id"], [[5 + 3 * k, 5 + 2 * k, 50 * k] for k in range(10)])
    assert answer.status_code == 200 and answer.json()["state"] == "won"
    round_ = Round.objects.get(pk=body["round_id"])
    assert (round_.state, round_.quality_flags) == ("won", [])
    assert Image.objects.get(pk=round_.image_id).completed_rounds == 1
