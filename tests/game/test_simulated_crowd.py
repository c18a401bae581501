"""The simulated crowd plays the real game through game.services until every image is retired, and
its rounds look human to the game's quality rules (game/simulated_crowd.py)."""

import numpy as np
from PIL import Image as PILImage

from annotations.map_encoding import npy_array
from annotations.saliency import roc_auc
from annotations.services import map_rebuild
from game.models import Image, Round
from game.simulated_crowd import crowd_play
from tests.conftest import synthetic_image


def _mask(image):
    with image.mask.open("rb") as handle, PILImage.open(handle) as pil:
        return np.asarray(pil) > 0


def test_the_crowd_plays_until_retirement_stopping_when_the_partner_recognises(db, categories, ranked_partner):
    recognised = synthetic_image(categories[0], 0)  # the partner's top 5 always hold categories 0-4
    never = synthetic_image(categories[5], 5)
    masks = {image.pk: _mask(image) for image in (recognised, never)}
    report = crowd_play(masks.get, careless_fraction=0.25, rounds_per_player=8, seed=3)
    summary = report.summary()
    assert summary["flagged_rounds"] == 0  # brush-like strokes at 50 ms: they look human
    for image in Image.objects.all():
        assert image.retired and image.completed_rounds == 15
    won = Round.objects.filter(image=recognised)
    assert won.count() == 15 and all(r.state == "won" and r.n_clicks == 10 for r in won)
    lost = Round.objects.filter(image=never)
    assert all(r.state == "expired" and r.n_clicks == 140 for r in lost)  # 7 s of a bubble every 50 ms
    assert summary["all"]["rounds"] == 30 and 0 < summary["careless_players"] < summary["players"]
    assert summary["all"]["clicks_mean"] == (15 * 10 + 15 * 140) / 30
    # The map of the project's recipe from these rounds covers the diagnostic part.
    clickmap = map_rebuild(image_id=never.pk)
    assert clickmap.n_players == 15
    assert roc_auc(npy_array(clickmap.data), masks[never.pk]) > 0.9
