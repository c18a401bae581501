"""A click post that says how many clicks it believes stored (`n_stored`, docs/API.md "Players"): a
repeat of a batch already stored (its answer was lost) stores nothing and is answered as the first
was, a post that is behind the row and repeats nothing is refused and changes nothing."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from game import click_post, open_rounds, services
from game.models import Round
from tests.factories import PlayerFactory
from tests.game.conftest import PlayerClient

FIRST = [[10, 10, 0]]
SECOND = [[11, 10, 50], [12, 10, 100]]


# copies are kept on commit: real commits, and none kept between tests
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_kept_copies")]


def post(player, round_id, clicks, n_stored):
    return player.post(f"/api/game/rounds/{round_id}/clicks/", {"clicks": clicks, "n_stored": n_stored})


def _locked(queries):
    return any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("path", ["copy", "locked", "other_process"])
def test_a_repeated_post_stores_nothing_and_is_answered_as_the_first(
    path, unrecognised_images, ranked_partner, monkeypatch
):
    """`copy`: the batch was stored by the process's copy (one conditional UPDATE); `locked`: under the
    row lock (no copy holds); `other_process`: the repeat reaches a process that keeps no copy."""
    if path == "locked":
        monkeypatch.setattr(click_post, "_clicks_append_to_copy", lambda *args: None)
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert post(player, round_id, FIRST, 0).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        first = post(player, round_id, SECOND, 1)
    assert first.status_code == 200, first.content
    if connection.features.has_select_for_update:
        assert _locked(queries) == (path == "locked")
    assert first.json()["n_stored"] == 3 and first.json()["state"] == "open"
    if path == "other_process":
        open_rounds.clear()

    again = post(player, round_id, SECOND, 1)  # the first answer was lost: the page sends the batch again
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    stored = Round.objects.get(pk=round_id)
    assert stored.clicks == [*FIRST, *SECOND] and stored.n_clicks == 3

    # and the round plays on from what is stored
    assert post(player, round_id, [[13, 10, 150]], 3).json()["n_stored"] == 4
    assert Round.objects.get(pk=round_id).clicks == [*FIRST, *SECOND, [13, 10, 150]]


def test_a_repeat_with_new_clicks_after_it_stores_only_the_new_ones(unrecognised_images, ranked_partner):
    """The page puts a batch whose answer was lost back in front of the clicks made since, and may send
    them in one post: the stored part is recognised, the rest appended once."""
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert post(player, round_id, FIRST, 0).status_code == 200
    assert post(player, round_id, SECOND, 1).status_code == 200
    answer = post(player, round_id, [*SECOND, [13, 10, 150]], 1)
    assert answer.status_code == 200, answer.content
    assert answer.json()["n_stored"] == 4
    assert Round.objects.get(pk=round_id).clicks == [*FIRST, *SECOND, [13, 10, 150]]


def test_a_repeat_of_the_winning_post_is_answered_won_with_its_score(recognised_images, ranked_partner):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    first = post(player, round_id, FIRST, 0)
    assert first.status_code == 200 and first.json()["state"] == "won" and first.json()["recognized"] is True
    again = post(player, round_id, FIRST, 0)
    assert again.status_code == 200, again.content
    assert {k: again.json()[k] for k in ("state", "score", "recognized", "n_stored")} == {
        k: first.json()[k] for k in ("state", "score", "recognized", "n_stored")
    }
    assert Round.objects.get(pk=round_id).clicks == FIRST


@pytest.mark.parametrize("n_stored", [0, 1, 5])
def test_a_stale_post_that_repeats_nothing_is_refused_and_changes_nothing(
    n_stored, unrecognised_images, ranked_partner
):
    """Behind the stored count with other clicks (0, 1), or ahead of it (5): refused with 409
    stored_clicks_differ; the clicks (which would be in time and in order) are not stored."""
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert post(player, round_id, [*FIRST, *SECOND], 0).status_code == 200
    before = Round.objects.values("clicks", "n_clicks", "state", "score").get(pk=round_id)
    answer = post(player, round_id, [[99, 99, 200]], n_stored)
    assert answer.status_code == 409 and answer.json()["code"] == "stored_clicks_differ", answer.content
    assert Round.objects.values("clicks", "n_clicks", "state", "score").get(pk=round_id) == before
    assert post(player, round_id, [[99, 99, 200]], 3).status_code == 200  # with the stored count it is taken


@pytest.mark.parametrize("n_stored", [-1, "1", 1.5, True])
def test_an_n_stored_that_is_not_a_count_is_refused(n_stored, unrecognised_images, ranked_partner):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    answer = post(player, round_id, FIRST, n_stored)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    assert answer.json()["detail"].startswith("n_stored")
    assert Round.objects.get(pk=round_id).n_clicks == 0


def test_a_post_without_n_stored_is_appended_as_before(unrecognised_images, ranked_partner):
    """Bots, simulations and pages from before the field: no repeat detection, the clicks are appended."""
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, FIRST).json()["n_stored"] == 1
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200
    assert Round.objects.get(pk=round_id).clicks == [*FIRST, [10, 10, 0]]


def test_two_identical_posts_at_once_store_their_clicks_once(unrecognised_images, ranked_partner):
    """The page's re-send races its first post (the first was slow, not lost): one stores the clicks,
    the other finds them stored and answers as the first."""
    for trial in range(4):
        player = PlayerFactory()
        round_ = services.round_start(player=player)
        batch = [[20 + trial, 20 + k, 10 * k] for k in range(5)]
        answers, errors, barrier = [], [], threading.Barrier(2)

        def send(player=player, round_=round_, batch=batch, answers=answers, errors=errors, barrier=barrier):
            try:
                barrier.wait()
                posted, _guesses, recognized = click_post.clicks_record(
                    player=player, round_id=round_.pk, raw_clicks=batch, n_stored=0
                )
                answers.append((posted.state, posted.n_clicks, recognized))
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                errors.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert answers == [("open", 5, False)] * 2
        round_.refresh_from_db()
        assert round_.clicks == batch and round_.n_clicks == 5
