"""game/guesses_writer.py: the open rounds' latest guesses written by a thread of the web process, in
one transaction per delay, the newest post of a round winning and a closed round left alone."""

import time

import pytest

from game.guesses_writer import GuessesWriter, rounds_guesses_save
from game.models import Player, Round
from game.services import round_start

pytestmark = pytest.mark.django_db


def guesses(name):
    return [{"category_id": None, "name": name, "probability": 0.5}]


def open_round(n_clicks):
    """An open round of a new player (a player's new round would close their open one)."""
    round_ = round_start(player=Player.objects.create(), user_agent="t")
    clicks = [[k, k, 10 * k] for k in range(n_clicks)]
    Round.objects.filter(pk=round_.pk).update(clicks=clicks, n_clicks=n_clicks)
    return round_.pk


def last_guesses(pk):
    return Round.objects.get(pk=pk).last_guesses


def test_one_write_keeps_each_open_rounds_guesses_unless_a_later_post_stored_clicks_or_it_closed(
    unrecognised_images, ranked_partner
):
    current, overtaken, won = open_round(3), open_round(5), open_round(2)
    Round.objects.filter(pk=won).update(state=Round.State.WON, last_guesses=guesses("the win's"))
    written = rounds_guesses_save({current: (3, guesses("a")), overtaken: (4, guesses("old")), won: (2, guesses("b"))})
    assert written == 1
    assert last_guesses(current) == guesses("a")
    assert last_guesses(overtaken) == []  # a post with 5 clicks is newer than these guesses of 4
    assert last_guesses(won) == guesses("the win's")


@pytest.mark.django_db(transaction=True)  # the thread has its own connection: it sees committed rows only
def test_the_thread_writes_the_newest_guesses_of_each_round_after_the_delay(unrecognised_images, ranked_partner):
    first, second = open_round(4), open_round(6)
    writer = GuessesWriter(delay_s=0.05)
    try:
        writer.put(first, 3, guesses("older"))
        writer.put(first, 4, guesses("newest"))
        writer.put(first, 3, guesses("late older"))  # arrives last, but holds fewer clicks: dropped
        writer.put(second, 6, guesses("second"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and last_guesses(second) != guesses("second"):
            time.sleep(0.05)
        assert last_guesses(first) == guesses("newest")
        assert last_guesses(second) == guesses("second")
        writer.put(first, 4, guesses("pending at stop"))
    finally:
        writer.stop()  # writes what is pending and closes the thread's connection
    assert last_guesses(first) == guesses("pending at stop")
    assert writer.thread is None and writer.pending == {}


@pytest.mark.django_db(transaction=True)
def test_a_click_post_hands_the_guesses_to_the_writer_thread(
    player_client, unrecognised_images, ranked_partner, settings
):
    from game import guesses_writer

    settings.CLICKME = {**settings.CLICKME, "GUESSES_WRITE_DELAY_S": 0.05}
    body = player_client.start()
    answer = player_client.clicks(body["round_id"], [[10, 10, 0]]).json()
    writer = guesses_writer.writer(0.05)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and last_guesses(body["round_id"]) != answer["guesses"]:
            time.sleep(0.05)
        assert last_guesses(body["round_id"]) == answer["guesses"]
    finally:
        writer.stop()
