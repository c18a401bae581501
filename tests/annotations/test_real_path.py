"""The real path: rounds played over HTTP, a real Celery worker (Redis, not eager) builds the map."""

import io
import time

import numpy as np
import pytest

from annotations import maps
from game.models import Round
from tests.conftest import synthetic_image
from tests.game.conftest import PlayerClient

from .conftest import mask_of


@pytest.mark.django_db(transaction=True)
def test_rounds_played_over_http_reach_their_map_through_a_real_worker(
    celery_worker_process, categories, ranked_partner, researcher
):
    from game.simulated_players import trajectory

    image = synthetic_image(categories[5], 0)  # never recognised: rounds run their clicks, then finish
    mask = mask_of(image)
    rng = np.random.default_rng(0)
    for _ in range(4):
        player = PlayerClient()
        start = player.start()
        clicks = trajectory(mask, rng, n_clicks=40).tolist()
        for begin in range(0, 40, 10):
            assert player.clicks(start["round_id"], clicks[begin : begin + 10]).status_code == 200
        assert player.post(f"/api/game/rounds/{start['round_id']}/finish/").json()["state"] == "expired"

    deadline, body = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        body = researcher.get(f"/api/v1/images/{image.pk}/").json()
        if body["n_players"] == 4:
            break
        time.sleep(0.5)
    assert body["n_players"] == 4 and body["n_clicks"] == 160 and body["split_half_rho"] is not None
    the_map = np.load(io.BytesIO(researcher.get(f"/api/v1/images/{image.pk}/map.npy").content))
    expected = maps.clickme_map([np.array(r.clicks) for r in Round.objects.filter(image=image)], 256, 256)
    assert np.abs(the_map - expected).max() < 1e-4
