"""Skipping an image (docs/API.md "Players", issue 8 item 7) and the player's own row on the leaderboard."""

from datetime import timedelta

from django.utils import timezone

from game.models import Image, Round
from tests.conftest import synthetic_image


def skip(client, round_id):
    return client.post(f"/api/game/rounds/{round_id}/skip/")


def test_a_skip_ends_the_round_unscored_and_is_counted_for_image_and_player(
    player_client, unrecognised_images, ranked_partner
):
    body = player_client.start()
    player_client.clicks(body["round_id"], [[5, 5, 100], [9, 9, 150]])
    response = skip(player_client, body["round_id"])
    assert response.status_code == 200
    assert response.json() == {"state": "skipped", "score": 0, "total_score": 0}
    round_ = Round.objects.get(pk=body["round_id"])
    assert (round_.state, round_.score, round_.n_clicks) == ("skipped", 0, 2)  # the clicks it had are kept
    assert round_.finished_at is not None
    image = Image.objects.get(pk=body["image_id"])
    assert (image.n_skipped, image.completed_rounds, image.retired) == (1, 0, False)
    me = player_client.get("/api/game/me/").json()
    assert (me["rounds_skipped"], me["rounds_played"], me["total_score"]) == (1, 0, 0)


def test_a_skipped_round_keeps_the_total_score_of_the_won_ones(make_player, categories, ranked_partner):
    synthetic_image(categories[0], 0)
    synthetic_image(categories[0], 1)
    player = make_player()
    won = player.start()
    assert player.clicks(won["round_id"], [[5, 5, 700]]).json()["state"] == "won"
    skipped = player.start()
    assert skip(player, skipped["round_id"]).json() == {"state": "skipped", "score": 0, "total_score": 90}


def test_a_skipped_image_never_comes_back_to_that_player(player_client, unrecognised_images, ranked_partner):
    first = player_client.start()
    skip(player_client, first["round_id"])
    seen = {first["image_id"]}
    for _ in unrecognised_images[1:]:
        body = player_client.start()
        assert body["image_id"] not in seen
        seen.add(body["image_id"])
        skip(player_client, body["round_id"])
    response = player_client.post("/api/game/rounds/")
    assert response.status_code == 409 and response.json()["code"] == "no_images_left"


def test_skipping_a_closed_round_is_409_round_closed_and_changes_nothing(
    player_client, unrecognised_images, ranked_partner
):
    body = player_client.start()
    player_client.post(f"/api/game/rounds/{body['round_id']}/finish/")
    response = skip(player_client, body["round_id"])
    assert response.status_code == 409 and response.json()["code"] == "round_closed"
    assert Round.objects.get(pk=body["round_id"]).state == "expired"
    assert Image.objects.get(pk=body["image_id"]).n_skipped == 0
    again = player_client.start()
    assert skip(player_client, again["round_id"]).status_code == 200
    assert skip(player_client, again["round_id"]).status_code == 409
    assert Image.objects.get(pk=again["image_id"]).n_skipped == 1


def test_a_skip_after_the_time_limit_closes_the_round_as_expired_with_409(
    player_client, unrecognised_images, ranked_partner
):
    body = player_client.start()
    Round.objects.filter(pk=body["round_id"]).update(started_at=timezone.now() - timedelta(seconds=10))
    response = skip(player_client, body["round_id"])
    assert response.status_code == 409 and response.json()["code"] == "round_closed"
    assert Round.objects.get(pk=body["round_id"]).state == "expired"
    assert Image.objects.get(pk=body["image_id"]).n_skipped == 0


def test_another_players_round_cannot_be_skipped(make_player, unrecognised_images, ranked_partner):
    owner, intruder = make_player(), make_player()
    body = owner.start()
    response = skip(intruder, body["round_id"])
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Round.objects.get(pk=body["round_id"]).state == "open"
    assert skip(owner, 10**9).status_code == 404


def test_skip_needs_the_csrf_token(player_client, unrecognised_images, ranked_partner):
    body = player_client.start()
    response = player_client.post(f"/api/game/rounds/{body['round_id']}/skip/", csrf=False)
    assert response.status_code == 403
    assert Round.objects.get(pk=body["round_id"]).state == "open"


def test_leaderboard_marks_the_row_of_the_requesting_player(make_player, categories, ranked_partner):
    for k in range(2):
        synthetic_image(categories[0], k)
    me, other, stranger = make_player(), make_player(), make_player()
    me.patch("/api/game/me/", {"nickname": "me"})
    other.patch("/api/game/me/", {"nickname": "other"})
    for client, t_ms in ((me, 3500), (other, 700)):
        body = client.start()
        client.clicks(body["round_id"], [[5, 5, t_ms]])
    rows = me.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [(e["nickname"], e["is_me"]) for e in rows] == [("other", False), ("me", True)]
    rows = other.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [(e["nickname"], e["is_me"]) for e in rows] == [("other", True), ("me", False)]
    rows = stranger.get("/api/game/leaderboard/", period="all").json()["entries"]
    assert [e["is_me"] for e in rows] == [False, False]


def test_the_schema_shows_skip_and_is_me(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    skip_post = schema["paths"]["/api/game/rounds/{round_id}/skip/"]["post"]
    assert {"200", "404", "409"} <= set(skip_post["responses"])
    components = schema["components"]["schemas"]
    assert "is_me" in components["LeaderboardEntry"]["properties"]
    state = components["SkipAnswer"]["properties"]["state"]
    enum = components[state["allOf"][0]["$ref"].rsplit("/", 1)[1]] if "allOf" in state else state
    assert "skipped" in enum["enum"]
