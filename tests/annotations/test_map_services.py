"""Maps built from stored rounds: the recipe, idempotence, staleness, the signal path."""

import numpy as np

from annotations import maps, selectors, services
from annotations.map_encoding import npy_array
from annotations.models import ClickMap
from annotations.receivers import queue_map_rebuild
from game.models import Round
from tests.factories import PlayerFactory, RoundFactory

from .conftest import play


def test_a_map_is_the_recipe_over_the_completed_rounds(played_images):
    image = played_images[0]
    RoundFactory(image=image, player=PlayerFactory(), clicks=[[5, 5, 0]], n_clicks=1)  # still open: left out
    RoundFactory(image=image, player=PlayerFactory(), clicks=[], n_clicks=0, state="expired")  # no clicks: left out
    clickmap = services.map_rebuild(image_id=image.pk)
    rounds = Round.objects.filter(image=image, state="expired", n_clicks__gte=1)
    expected = maps.clickme_map([np.array(r.clicks) for r in rounds], 256, 256)
    stored = npy_array(clickmap.data)
    assert stored.dtype == np.float32 and stored.shape == (256, 256)
    assert np.abs(stored.astype(np.float64) - expected).max() < 1e-4  # docs/SCIENCE.md section 2
    assert clickmap.n_players == 6 and clickmap.n_clicks == sum(r.n_clicks for r in rounds)
    assert clickmap.split_half_rho is not None and clickmap.split_half_rho > 0.3


def test_rebuilding_with_the_same_rounds_changes_nothing(played_images):
    first = services.map_rebuild(image_id=played_images[0].pk)
    again = services.map_rebuild(image_id=played_images[0].pk)
    assert (again.fingerprint, again.updated_at, bytes(again.data)) == (
        first.fingerprint,
        first.updated_at,
        bytes(first.data),
    )
    play(played_images[0], 1, seed=9)
    changed = services.map_rebuild(image_id=played_images[0].pk)
    assert changed.fingerprint != first.fingerprint and changed.n_players == 7


def test_images_without_completed_rounds_get_no_map(played_images):
    assert services.map_rebuild(image_id=played_images[2].pk) is None
    assert not ClickMap.objects.exists()


def test_stale_maps_are_found_and_rebuilt(played_images):
    assert set(selectors.stale_image_ids()) == {played_images[0].pk, played_images[1].pk}
    assert services.maps_rebuild_stale() == 2
    assert selectors.stale_image_ids() == []
    play(played_images[1], 1, seed=5)  # a round that finished while the broker was down
    assert selectors.stale_image_ids() == [played_images[1].pk]
    services.maps_rebuild_stale()
    assert ClickMap.objects.get(image=played_images[1]).n_players == 7


def test_a_broker_outage_does_not_break_the_round_and_is_logged(played_images, monkeypatch, caplog):
    from clickme_site.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(app, "send_task", down)
    queue_map_rebuild(sender=Round, round_id=1, image_id=played_images[0].pk)
    assert "could not queue the map rebuild" in caplog.text


def test_careful_players_give_a_clearly_higher_split_half_rho_than_careless_ones_and_the_null_is_near_zero(categories):
    from tests.conftest import synthetic_image

    rhos = {False: [], True: []}
    careful_players = []
    for k in range(8):
        careless = k % 2 == 1
        image = synthetic_image(categories[k % 7], k, seed=7)
        rounds = play(image, 10, careless=careless, seed=k)
        rhos[careless].append(services.map_rebuild(image_id=image.pk).split_half_rho)
        if not careless:
            careful_players.append([r.clicks for r in rounds])
    careful, careless = np.mean(rhos[False]), np.mean(rhos[True])
    null = maps.split_half_null(careful_players, 256, 256, n_pairs=20)
    assert careful > careless + 0.15, (careful, careless)
    assert abs(null) < 0.2 and careful > null + 0.3, (careful, null)
