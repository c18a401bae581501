"""The click post by the process's copy of its round (game/open_rounds.py): one conditional UPDATE
instead of a locked read, and the locked path whenever the row is not what the copy holds."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from game import click_post, open_rounds, services
from game.click_rules import clicks_window_ms
from game.models import Round
from tests.game.conftest import PlayerClient

# copies are kept on commit: real commits, and none kept between tests
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_kept_copies")]


def _round_sql(queries):
    """The statements on rounds and sessions, without the guesses' display copy (written after the answer)."""
    return [
        q["sql"]
        for q in queries
        if ("game_round" in q["sql"] or "django_session" in q["sql"]) and "last_guesses" not in q["sql"]
    ]


def test_a_second_post_reads_no_row_locks_nothing_and_appends_with_one_update(unrecognised_images, ranked_partner):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200  # reads the round once (no lock)
    with CaptureQueriesContext(connection) as queries:
        response = player.clicks(round_id, [[11, 10, 50], [12, 10, 100]])
    assert response.status_code == 200 and response.json()["state"] == "open"
    sql = _round_sql(queries.captured_queries)
    assert len(sql) == 1 and sql[0].startswith("UPDATE") and "n_clicks" in sql[0].split("WHERE")[1]
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    stored = Round.objects.get(pk=round_id)
    assert stored.clicks == [[10, 10, 0], [11, 10, 50], [12, 10, 100]] and stored.n_clicks == 3


def test_a_copy_behind_the_row_takes_the_locked_path_and_loses_no_click(unrecognised_images, ranked_partner):
    """Another process stored clicks since this one's copy: the UPDATE matches nothing, the post is
    checked against the row under its lock and appended after the other's clicks."""
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200
    Round.objects.filter(pk=round_id).update(clicks=[[10, 10, 0], [20, 20, 40]], n_clicks=2)  # the other process
    with CaptureQueriesContext(connection) as queries:
        response = player.clicks(round_id, [[30, 30, 80]])
    assert response.status_code == 200
    if connection.features.has_select_for_update:  # the locked path (SQLite has no row locks)
        assert any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    assert Round.objects.get(pk=round_id).clicks == [[10, 10, 0], [20, 20, 40], [30, 30, 80]]
    # the locked path kept a copy of what it stored: the next post is one UPDATE again
    assert open_rounds.kept(round_id=round_id, player_id=Round.objects.get(pk=round_id).player_id).n_clicks == 3
    with CaptureQueriesContext(connection) as queries:
        assert player.clicks(round_id, [[31, 30, 90]]).status_code == 200
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    assert Round.objects.get(pk=round_id).n_clicks == 4


def test_a_round_closed_elsewhere_is_refused_and_nothing_is_stored(unrecognised_images, ranked_partner):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200
    Round.objects.filter(pk=round_id).update(state=Round.State.SKIPPED)  # skipped from another process
    response = player.clicks(round_id, [[11, 10, 50]])
    assert response.status_code == 409 and response.json()["code"] == "round_closed"
    assert Round.objects.get(pk=round_id).clicks == [[10, 10, 0]]


def test_a_copy_is_never_ahead_of_the_database(unrecognised_images, ranked_partner):
    """Clicks stored in a transaction that rolls back leave no copy behind: the next post is checked
    against the row (a copy that held them would refuse t_ms 100 as going back before 500)."""
    player = PlayerClient()
    round_id = player.start()["round_id"]
    player_id = Round.objects.get(pk=round_id).player_id
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        click_post.clicks_record(player=player_id, round_id=round_id, raw_clicks=[[11, 10, 500]])
        raise Rollback
    assert open_rounds.kept(round_id=round_id, player_id=player_id).n_clicks == 1
    response = player.clicks(round_id, [[12, 10, 100]])
    assert response.status_code == 200
    assert Round.objects.get(pk=round_id).clicks == [[10, 10, 0], [12, 10, 100]]


def test_a_refused_post_is_refused_by_the_row_not_by_the_copy(unrecognised_images, ranked_partner):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, [[10, 10, 0], [11, 10, 300]]).status_code == 200
    response = player.clicks(round_id, [[12, 10, 100]])
    assert response.status_code == 400 and response.json()["code"] == "time_goes_backwards"
    assert Round.objects.get(pk=round_id).n_clicks == 2


def test_another_players_session_cannot_post_to_a_kept_round(unrecognised_images, ranked_partner):
    owner, other = PlayerClient(), PlayerClient()
    round_id = owner.start()["round_id"]
    other.start()
    assert owner.clicks(round_id, [[10, 10, 0]]).status_code == 200  # the process keeps the round
    response = other.clicks(round_id, [[11, 10, 50]])
    assert response.status_code == 404
    assert Round.objects.get(pk=round_id).n_clicks == 1


def test_a_click_post_reads_its_sessions_player_once_per_ttl(
    unrecognised_images, ranked_partner, settings, monkeypatch
):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert player.clicks(round_id, [[11, 10, 50]]).status_code == 200
    assert not any("django_session" in q["sql"] for q in queries.captured_queries)
    now = services.time.monotonic()
    monkeypatch.setattr(services.time, "monotonic", lambda: now + settings.CLICKME["SESSION_PLAYER_TTL_S"] + 1)
    with CaptureQueriesContext(connection) as queries:
        assert player.clicks(round_id, [[12, 10, 100]]).status_code == 200
    assert any("django_session" in q["sql"] for q in queries.captured_queries)  # read again when the time is up


def test_a_session_without_a_player_is_read_every_time(db, rf):
    """Only found players are kept: the player another process binds to the session is seen at once."""
    from django.contrib.sessions.backends.db import SessionStore

    from game.selectors import SESSION_PLAYER_KEY

    session = SessionStore()
    session.create()
    assert services.player_id_for_session(session=SessionStore(session.session_key)) is None
    bound = SessionStore(session.session_key)
    bound[SESSION_PLAYER_KEY] = 1234
    bound.save()
    assert services.player_id_for_session(session=SessionStore(session.session_key)) == 1234


def test_a_session_whose_player_was_deleted_plays_on_with_its_new_player(unrecognised_images, ranked_partner):
    """The admin deletes a player; the same browser starts again with a new player bound to the same
    session. A process that still keeps the old answer (here: put back, as another process would hold
    it) finds no round for it and reads the session again: the post is stored for the new player."""
    player = PlayerClient()
    first = player.start()["round_id"]
    assert player.clicks(first, [[10, 10, 0]]).status_code == 200
    old_player = Round.objects.get(pk=first).player
    session_key = player.client.cookies["sessionid"].value
    kept_answer = services._session_players[session_key]
    old_player.delete()
    second = player.start()["round_id"]
    new_player_id = Round.objects.get(pk=second).player_id
    assert new_player_id != old_player.pk
    assert session_key not in services._session_players  # this process forgot it when it bound the new one
    services._session_players[session_key] = kept_answer  # another process's stale answer
    response = player.clicks(second, [[20, 20, 0]])
    assert response.status_code == 200, response.content
    assert Round.objects.get(pk=second).clicks == [[20, 20, 0]]
    assert services._session_players[session_key][0] == new_player_id


def test_copies_past_their_rounds_deadline_are_dropped(unrecognised_images, ranked_partner, settings):
    player = PlayerClient()
    round_id = player.start()["round_id"]
    player_id = Round.objects.get(pk=round_id).player_id
    assert player.clicks(round_id, [[10, 10, 0]]).status_code == 200
    assert open_rounds.kept(round_id=round_id, player_id=player_id) is not None
    late = settings.CLICKME["TIME_LIMIT_MS"] + clicks_window_ms(settings.CLICKME) + 1000
    Round.objects.filter(pk=round_id).update(started_at=timezone.now() - timedelta(milliseconds=late))
    copy = open_rounds._kept[round_id]
    open_rounds._kept[round_id] = replace(copy, started_at=copy.started_at - timedelta(milliseconds=late))
    assert open_rounds.kept(round_id=round_id, player_id=player_id) is None
    assert round_id not in open_rounds._kept
    response = player.clicks(round_id, [[11, 10, 50]])  # the locked path closes it as expired
    assert response.status_code == 409 and Round.objects.get(pk=round_id).state == Round.State.EXPIRED
