"""Round services: assignment, retirement, expiry, the finished-round signal, races on one round."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from game import click_post, services
from game.models import Image, Round
from game.signals import round_finished
from game.tasks import rounds_expire_stale
from tests.conftest import synthetic_image
from tests.factories import PlayerFactory, RoundFactory


def test_images_with_fewest_completed_rounds_come_first(categories, ranked_partner):
    images = [synthetic_image(categories[5], k) for k in range(3)]
    Image.objects.filter(pk__in=[images[0].pk, images[2].pk]).update(completed_rounds=4)
    round_ = services.round_start(player=PlayerFactory())
    assert round_.image == images[1]


def test_an_image_retires_after_plays_per_image_completed_rounds(categories, ranked_partner, settings):
    settings.CLICKME = {**settings.CLICKME, "PLAYS_PER_IMAGE": 2}
    image = synthetic_image(categories[5], 0)
    for k in range(2):
        player = PlayerFactory()
        round_ = services.round_start(player=player)
        stroke = [[10 + 40 * k + 3 * j, 10 + 30 * k + 2 * j, 50 * j] for j in range(settings.CLICKME["MIN_CLICKS"])]
        click_post.clicks_record(player=player, round_id=round_.pk, raw_clicks=stroke)
        services.round_finish(player=player, round_id=round_.pk)
    image.refresh_from_db()
    assert image.completed_rounds == 2 and image.retired
    with pytest.raises(services.Conflict):
        services.round_start(player=PlayerFactory())


def test_starting_a_round_closes_the_open_one(categories, ranked_partner):
    for k in range(2):
        synthetic_image(categories[5], k)
    player = PlayerFactory()
    first = services.round_start(player=player)
    services.round_start(player=player)
    first.refresh_from_db()
    assert first.state == "expired"


def test_the_finished_signal_is_sent_once_after_commit(categories, ranked_partner, django_capture_on_commit_callbacks):
    synthetic_image(categories[5], 0)
    received = []

    def receiver(sender, round_id, image_id, **kwargs):
        received.append((round_id, image_id))

    round_finished.connect(receiver)
    try:
        player = PlayerFactory()
        with django_capture_on_commit_callbacks(execute=True):
            round_ = services.round_start(player=player)
            services.round_finish(player=player, round_id=round_.pk)
            services.round_finish(player=player, round_id=round_.pk)
    finally:
        round_finished.disconnect(receiver)
    assert received == [(round_.pk, round_.image_id)]


def test_stale_open_rounds_are_expired_by_the_periodic_task(categories):
    stale = RoundFactory(image=synthetic_image(categories[5], 0), started_at=timezone.now() - timedelta(seconds=30))
    fresh = RoundFactory(image=synthetic_image(categories[5], 1))
    assert rounds_expire_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.state, fresh.state) == ("expired", "open")
    image = Image.objects.get(pk=stale.image_id)
    assert (image.completed_rounds, image.n_abandoned) == (0, 1)  # no clicks: abandoned, not towards retirement


@pytest.mark.parametrize("elapsed_ms, score", [(0, 100), (3500, 50), (6999, 0), (7000, 0), (700, 90)])
def test_score_follows_the_time_left(elapsed_ms, score):
    assert click_post.round_score(elapsed_ms, 7000) == score


@pytest.mark.django_db(transaction=True)
def test_concurrent_click_posts_of_one_round_lose_and_duplicate_nothing(categories, ranked_partner):
    image = synthetic_image(categories[5], 0)
    player = PlayerFactory()
    round_ = services.round_start(player=player)
    assert round_.image == image
    errors, barrier = [], threading.Barrier(4)

    def post(worker):
        try:
            barrier.wait()
            for batch in range(5):
                t = (batch * 4 + worker) * 10
                try:
                    click_post.clicks_record(player=player, round_id=round_.pk, raw_clicks=[[worker, batch, 1000 + t]])
                except services.ServiceError as error:
                    errors.append(error.code)  # a post whose t_ms went back behind a faster one
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    round_.refresh_from_db()
    accepted = 20 - len(errors)
    assert set(errors) <= {"time_goes_backwards"}
    assert round_.n_clicks == len(round_.clicks) == accepted
    assert len({tuple(c) for c in round_.clicks}) == accepted  # no duplicates
    assert [c[2] for c in round_.clicks] == sorted(c[2] for c in round_.clicks)


@pytest.mark.django_db(transaction=True)
def test_concurrent_round_starts_of_one_player_leave_one_open_round_and_keep_the_clicks(categories, ranked_partner):
    for k in range(8):
        synthetic_image(categories[5], k)
    player = PlayerFactory()
    played = services.round_start(player=player)
    click_post.clicks_record(player=player, round_id=played.pk, raw_clicks=[[10, 10, 0], [12, 11, 40]])
    errors, barrier = [], threading.Barrier(4)

    def start():
        try:
            barrier.wait()
            services.round_start(player=player)
        except services.ServiceError as error:
            errors.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Round.objects.filter(player=player, state="open").count() == 1
    played.refresh_from_db()
    assert played.state == "expired" and played.clicks == [[10, 10, 0], [12, 11, 40]]  # superseded, not lost
