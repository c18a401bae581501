"""The map build computes without holding the image's row: a round closes on the image while a
build of its map is mid-computation, and the build then starts again from the new inputs."""

import threading

import pytest
from django.db import connection

from annotations import maps, selectors, services
from annotations.models import ClickMap
from clickme_site.celery import app as celery_app
from game.models import Image, Round
from tests.conftest import synthetic_image
from tests.game.conftest import PlayerClient

from .conftest import play

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(target, results, key):
    """Run `target` on its own thread and database connection; its result or error lands in results[key]."""

    def run():
        try:
            results[key] = target()
        except BaseException as error:  # the main thread asserts on it
            results[key] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_click_post_that_closes_a_round_does_not_wait_for_a_map_build_of_its_image(
    categories, ranked_partner, monkeypatch
):
    image = synthetic_image(categories[0], 0)  # category 0: the ranked partner recognises it at once
    play(image, 4, seed=3)
    queued = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=None, **kw: queued.append((name, args)))
    computing, release = threading.Event(), threading.Event()
    real_clickme_map = maps.clickme_map
    real_compute = services._map_compute
    computed_players = []

    def held_clickme_map(player_clicks, height, width):
        if not computing.is_set():  # the first build stops mid-computation until the test lets it go on
            computing.set()
            assert release.wait(timeout=60), "the test never released the build"
        return real_clickme_map(player_clicks, height, width)

    def recorded_compute(inputs):
        computed_players.append(len(inputs.rounds))
        return real_compute(inputs)

    monkeypatch.setattr(maps, "clickme_map", held_clickme_map)
    monkeypatch.setattr(services, "_map_compute", recorded_compute)
    results = {}
    build = in_thread(lambda: services.map_rebuild(image_id=image.pk), results, "build")
    assert computing.wait(timeout=30), "the build never reached its computation"

    def close_round():
        player = PlayerClient()
        round_id = player.start()["round_id"]
        return round_id, player.clicks(round_id, [[40 + 3 * k, 40 + 2 * k, 100 + 50 * k] for k in range(10)])

    post = in_thread(close_round, results, "post")
    post.join(timeout=20)
    try:
        assert not post.is_alive(), "the click post waited for the map build"
        assert build.is_alive() and not release.is_set()  # the build was still mid-computation throughout
    finally:
        release.set()
        build.join(timeout=60)
        post.join(timeout=60)
    assert not isinstance(results["post"], BaseException), results["post"]
    round_id, response = results["post"]
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "won"
    assert Image.objects.get(pk=image.pk).completed_rounds == 5

    clickmap = results["build"]
    assert not isinstance(clickmap, BaseException), clickmap
    # The first computation's inputs were out of date when it finished: it was not written, and the
    # build computed again from the five rounds, the closed one included.
    assert computed_players == [4, 5]
    stored = ClickMap.objects.get(image=image)
    assert (clickmap.pk, stored.n_players) == (stored.pk, 5)
    assert stored.fingerprint == selectors.map_inputs(image_id=image.pk).fingerprint
    assert round_id in {rid for rid, _clicks in selectors.qualifying_rounds(image_id=image.pk)}
    assert Round.objects.get(pk=round_id).state == "won"


def test_a_build_whose_inputs_keep_changing_is_requeued_and_writes_nothing(played_images, monkeypatch):
    image = played_images[0]
    queued = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=None, **kw: queued.append((name, args)))
    real_compute = services._map_compute
    seeds = iter(range(100, 200))

    def compute_while_players_finish(inputs):
        play(image, 1, seed=next(seeds))  # another round of the image completes meanwhile
        return real_compute(inputs)

    monkeypatch.setattr(services, "_map_compute", compute_while_players_finish)
    assert services.map_rebuild(image_id=image.pk) is None
    assert not ClickMap.objects.filter(image=image).exists()
    assert queued == [(services.queueing.MAP_REBUILD, [image.pk])]


def test_a_fingerprint_read_without_the_clicks_equals_the_one_read_with_them(played_images):
    image = played_images[0]
    assert selectors.map_inputs_fingerprint(image_id=image.pk) == selectors.map_inputs(image_id=image.pk).fingerprint
    play(image, 1, seed=9, n_clicks=17)
    assert selectors.map_inputs_fingerprint(image_id=image.pk) == selectors.map_inputs(image_id=image.pk).fingerprint
