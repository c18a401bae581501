"""docs/API.md "Players": every rule, each checked to leave stored data unchanged when it refuses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from game.click_rules import clicks_window_ms
from game.models import Partner, Player, Round


def stored(round_id):
    r = Round.objects.get(pk=round_id)
    return (r.state, r.score, r.n_clicks, list(r.clicks))


def test_start_round_answers_the_contract_fields(player_client, unrecognised_images, ranked_partner):
    body = player_client.start()
    assert set(body) >= {
        "round_id",
        "image_id",
        "image_url",
        "image_size",
        "category",
        "time_limit_ms",
        "bubble_size_px",
        "max_clicks",
        "started_at",
    }
    assert body["image_size"] == [256, 256] and body["time_limit_ms"] == 7000 and body["bubble_size_px"] == 14
    assert Round.objects.get(pk=body["round_id"]).partner == ranked_partner
    image = player_client.client.get(body["image_url"])
    assert image.status_code == 200


def test_clicks_are_stored_and_the_partner_answers_top_5(player_client, unrecognised_images, ranked_partner):
    body = player_client.start()
    response = player_client.clicks(body["round_id"], [[10, 10, 0], [12, 11, 50]])
    assert response.status_code == 200
    answer = response.json()
    assert [g["name"] for g in answer["guesses"]] == [f"category {k}" for k in range(5)]
    assert answer["recognized"] is False and answer["state"] == "open" and answer["score"] == 0
    assert stored(body["round_id"]) == ("open", 0, 2, [[10, 10, 0], [12, 11, 50]])


def test_a_recognised_round_is_won_with_the_server_computed_score(player_client, recognised_images, ranked_partner):
    body = player_client.start()
    answer = player_client.clicks(body["round_id"], [[100, 100, 0], [101, 100, 3500]]).json()
    assert answer["recognized"] is True and answer["state"] == "won"
    assert answer["score"] == 50  # round(100 * (1 - 3500 / 7000))
    assert stored(body["round_id"])[:2] == ("won", 50)
    me = player_client.get("/api/game/me/").json()
    assert (me["total_score"], me["rounds_played"], me["rounds_won"]) == (50, 1, 1)


def test_clicks_after_a_win_get_409_and_change_nothing(player_client, recognised_images, ranked_partner):
    body = player_client.start()
    player_client.clicks(body["round_id"], [[1, 1, 100]])
    before = stored(body["round_id"])
    response = player_client.clicks(body["round_id"], [[2, 2, 200]])
    assert response.status_code == 409 and response.json()["code"] == "round_closed"
    assert stored(body["round_id"]) == before


def test_clicks_after_the_time_limit_get_409_and_the_round_expires(
    player_client, unrecognised_images, ranked_partner, settings
):
    body = player_client.start()
    player_client.clicks(body["round_id"], [[1, 1, 100]])
    late_ms = settings.CLICKME["TIME_LIMIT_MS"] + clicks_window_ms(settings.CLICKME) + 500
    Round.objects.filter(pk=body["round_id"]).update(started_at=timezone.now() - timedelta(milliseconds=late_ms))
    response = player_client.clicks(body["round_id"], [[2, 2, 200]])
    assert response.status_code == 409 and response.json()["code"] == "round_closed"
    assert stored(body["round_id"]) == ("expired", 0, 1, [[1, 1, 100]])


def test_clicks_drawn_in_time_but_posted_after_a_slow_answer_are_stored(
    player_client, unrecognised_images, ranked_partner, settings
):
    """The page posts one batch at a time: when the server took seconds to answer the previous batch,
    the next one (drawn within the limit) arrives after limit + grace, and is still judged in time."""
    body = player_client.start()
    assert player_client.clicks(body["round_id"], [[1, 1, 100]]).status_code == 200
    slow_ms = settings.CLICKME["TIME_LIMIT_MS"] + settings.CLICKME["CLICK_GRACE_MS"] + 5000
    assert slow_ms < settings.CLICKME["TIME_LIMIT_MS"] + clicks_window_ms(settings.CLICKME)
    Round.objects.filter(pk=body["round_id"]).update(started_at=timezone.now() - timedelta(milliseconds=slow_ms))
    response = player_client.clicks(body["round_id"], [[2, 2, 6900]])
    assert response.status_code == 200 and response.json()["state"] == "open"
    assert stored(body["round_id"]) == ("open", 0, 2, [[1, 1, 100], [2, 2, 6900]])
    # a click the page could not have drawn in time is refused, whenever it comes
    late = player_client.clicks(body["round_id"], [[3, 3, settings.CLICKME["TIME_LIMIT_MS"] + 1]])
    assert late.status_code == 400 and late.json()["code"] == "invalid_time"
    assert stored(body["round_id"]) == ("open", 0, 2, [[1, 1, 100], [2, 2, 6900]])


@pytest.mark.parametrize(
    "clicks",
    [
        [[256, 3, 300]],
        [[3, -1, 300]],
        [[3.5, 3, 300]],
        [[3, 3, 7001]],
        [[3, 3, 50]],  # goes back before the stored click at 100 ms
        [[3, 3]],
        "clicks",
        [[3, 3, 300]] * 101,
    ],
)
def test_bad_clicks_get_400_and_the_stored_clicks_stay(player_client, unrecognised_images, ranked_partner, clicks):
    body = player_client.start()
    player_client.clicks(body["round_id"], [[1, 1, 100]])
    before = stored(body["round_id"])
    response = player_client.clicks(body["round_id"], clicks)
    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}
    assert stored(body["round_id"]) == before


@pytest.mark.parametrize("raw", ["{not json", '{"clicks": [[1, 1, NaN]]}', "[]", '{"other": 1}'])
def test_malformed_bodies_get_400_and_change_nothing(player_client, unrecognised_images, ranked_partner, raw):
    body = player_client.start()
    before = stored(body["round_id"])
    response = player_client.post(f"/api/game/rounds/{body['round_id']}/clicks/", raw=raw)
    assert response.status_code == 400, response.content
    assert stored(body["round_id"]) == before


def test_more_than_max_clicks_in_a_round_is_refused(player_client, unrecognised_images, ranked_partner, settings):
    settings.CLICKME = {**settings.CLICKME, "MAX_CLICKS": 3}
    body = player_client.start()
    assert player_client.clicks(body["round_id"], [[1, 1, 0], [1, 1, 50]]).status_code == 200
    response = player_client.clicks(body["round_id"], [[1, 1, 100], [1, 1, 150]])
    assert response.status_code == 400 and response.json()["code"] == "too_many_clicks"
    assert stored(body["round_id"])[2] == 2


def test_another_players_round_is_404_and_untouched(make_player, unrecognised_images, ranked_partner):
    owner, intruder = make_player(), make_player()
    body = owner.start()
    before = stored(body["round_id"])
    assert intruder.clicks(body["round_id"], [[1, 1, 1]]).status_code == 404
    assert intruder.post(f"/api/game/rounds/{body['round_id']}/finish/").status_code == 404
    assert stored(body["round_id"]) == before


def test_a_post_without_the_csrf_token_is_403_and_stores_nothing(player_client, unrecognised_images, ranked_partner):
    body = player_client.start()
    response = player_client.post(f"/api/game/rounds/{body['round_id']}/clicks/", {"clicks": [[1, 1, 1]]}, csrf=False)
    assert response.status_code == 403
    assert stored(body["round_id"])[2] == 0
    assert player_client.post("/api/game/rounds/", csrf=False).status_code == 403
    assert Round.objects.count() == 1


def test_finish_ends_an_open_round_and_is_idempotent(player_client, unrecognised_images, ranked_partner):
    body = player_client.start()
    first = player_client.post(f"/api/game/rounds/{body['round_id']}/finish/").json()
    again = player_client.post(f"/api/game/rounds/{body['round_id']}/finish/").json()
    assert first == again == {"state": "expired", "score": 0, "total_score": 0}


def test_a_player_never_gets_the_same_image_twice_then_409(player_client, unrecognised_images, ranked_partner):
    seen = set()
    for _ in unrecognised_images:
        body = player_client.start()
        assert body["image_id"] not in seen
        seen.add(body["image_id"])
        player_client.post(f"/api/game/rounds/{body['round_id']}/finish/")
    response = player_client.post("/api/game/rounds/")
    assert response.status_code == 409 and response.json()["code"] == "no_images_left"


def test_nickname_is_set_and_shown(player_client):
    response = player_client.patch("/api/game/me/", {"nickname": "  Ada L.  "})
    assert response.status_code == 200 and response.json()["nickname"] == "Ada L."


@pytest.mark.parametrize("nickname", ["", "   ", "x" * 33, "<script>", "a&b", "the admin", 5, None])
def test_bad_nicknames_get_400_and_keep_the_old_one(player_client, nickname):
    player_client.patch("/api/game/me/", {"nickname": "kept"})
    response = player_client.patch("/api/game/me/", {"nickname": nickname})
    assert response.status_code == 400 and response.json()["code"] == "invalid_nickname"
    assert player_client.get("/api/game/me/").json()["nickname"] == "kept"


def test_a_player_is_bound_to_the_session(make_player):
    a, b = make_player(), make_player()
    for visitor in (a, b):
        assert visitor.patch("/api/game/me/", {"consented": True}).status_code == 200
    id_a = a.get("/api/game/me/").json()["player_id"]
    assert a.get("/api/game/me/").json()["player_id"] == id_a
    assert b.get("/api/game/me/").json()["player_id"] != id_a
    assert Player.objects.count() == 2
    assert all(len(p.ip_hash) == 64 and "127.0.0.1" not in p.ip_hash for p in Player.objects.all())


def test_leaderboard_ranks_players_by_score_in_the_period(make_player, categories, ranked_partner):
    from tests.conftest import synthetic_image

    images = [synthetic_image(categories[0], k) for k in range(2)]
    fast, slow = make_player(), make_player()
    fast.patch("/api/game/me/", {"nickname": "fast"})
    slow.patch("/api/game/me/", {"nickname": "slow"})
    for client, t_ms in ((fast, 700), (slow, 3500)):
        body = client.start()
        client.clicks(body["round_id"], [[5, 5, t_ms]])
    old = slow.start()
    slow.clicks(old["round_id"], [[5, 5, 0]])
    Round.objects.filter(pk=old["round_id"]).update(finished_at=timezone.now() - timedelta(days=3))
    # each player gets an image they have not seen: the slow player's two rounds cover both images
    assert sorted(Round.objects.filter(player__nickname="slow").values_list("image_id", flat=True)) == sorted(
        image.pk for image in images
    )
    day = fast.get("/api/game/leaderboard/", period="day").json()
    assert day["period"] == "day"
    assert [(e["rank"], e["nickname"], e["score"], e["rounds_won"]) for e in day["entries"]] == [
        (1, "fast", 90, 1),
        (2, "slow", 50, 1),
    ]
    everything = fast.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [(e["nickname"], e["score"]) for e in everything] == [("slow", 150), ("fast", 90)]


@pytest.mark.parametrize("params", [{"period": "year"}, {"limit": "0"}, {"limit": "x"}, {"limit": "1000"}])
def test_bad_leaderboard_queries_get_400(player_client, params):
    response = player_client.get("/api/game/leaderboard/", **params)
    assert response.status_code == 400 and response.json()["detail"]


def test_a_broken_partner_answers_no_guesses_and_keeps_the_clicks(player_client, unrecognised_images, ranked_partner):
    from game.models import Partner

    body = player_client.start()
    Partner.objects.filter(pk=ranked_partner.pk).update(weights_file="/nonexistent/partner.pt2")
    response = player_client.clicks(body["round_id"], [[4, 4, 100], [5, 5, 150]])
    assert response.status_code == 200
    assert response.json() == {"guesses": [], "recognized": False, "state": "open", "score": 0, "n_stored": 2}
    assert stored(body["round_id"]) == ("open", 0, 2, [[4, 4, 100], [5, 5, 150]])


def test_a_forward_that_fails_on_the_forward_thread_answers_no_guesses_and_keeps_the_clicks(
    player_client, unrecognised_images, ranked_partner, monkeypatch
):
    from game.partner import PartnerRuntime

    body = player_client.start()

    def fails(self, views):
        raise RuntimeError("out of memory in the forward")

    monkeypatch.setattr(PartnerRuntime, "predict", fails)
    response = player_client.clicks(body["round_id"], [[4, 4, 100], [5, 5, 150]])
    assert response.status_code == 200
    assert response.json() == {"guesses": [], "recognized": False, "state": "open", "score": 0, "n_stored": 2}
    assert stored(body["round_id"]) == ("open", 0, 2, [[4, 4, 100], [5, 5, 150]])
    monkeypatch.undo()
    again = player_client.clicks(body["round_id"], [[6, 6, 200]])  # the same runtime answers again
    assert again.status_code == 200 and again.json()["guesses"]


def test_the_guesses_are_kept_once_the_answer_is_sent_and_an_older_post_never_overwrites_newer(
    player_client, unrecognised_images, ranked_partner
):
    from game import partner_play

    body = player_client.start()
    first = player_client.clicks(body["round_id"], [[4, 4, 100]])
    assert first.status_code == 200 and first.json()["guesses"]
    # the test client closes the response as a WSGI server does once it is sent: the write has run
    assert Round.objects.get(pk=body["round_id"]).last_guesses == first.json()["guesses"]
    second = player_client.clicks(body["round_id"], [[5, 5, 150]])
    assert Round.objects.get(pk=body["round_id"]).last_guesses == second.json()["guesses"]
    # the first post's write, late (it counted one click): the second post's guesses stay
    partner_play.guesses_save(body["round_id"], 1, [{"category_id": None, "name": "stale", "probability": 1.0}])
    assert Round.objects.get(pk=body["round_id"]).last_guesses == second.json()["guesses"]


def test_a_post_reads_the_partners_mapping_by_digest_so_an_edit_is_seen_at_once(
    player_client, unrecognised_images, ranked_partner
):
    """The click post loads the mapping's md5, not the mapping (1,000 entries for an ImageNet partner);
    the mapping is read once per process per digest, so even a queryset update is seen on the next post."""
    body = player_client.start()
    first = player_client.clicks(body["round_id"], [[10, 10, 0]])
    assert [g["name"] for g in first.json()["guesses"]] == [f"category {k}" for k in range(5)]
    renamed = [[category_id, f"renamed {label}"] for category_id, label in ranked_partner.category_mapping]
    Partner.objects.filter(pk=ranked_partner.pk).update(category_mapping=renamed)
    second = player_client.clicks(body["round_id"], [[12, 12, 100]])
    assert [g["name"] for g in second.json()["guesses"]] == [f"renamed category {k}" for k in range(5)]
    from game import partner_play

    loaded = Round.objects.select_related("partner").get(pk=body["round_id"])
    assert partner_play.play_mapping(loaded) == renamed  # a round loaded without the digest reads the row
