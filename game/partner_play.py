"""The partner's side of a click post (SCIENCE.md section 1): render what the round's clicks reveal,
queue the partner's forward, read its guesses, keep their display copy. torch loads only through
game.partner, in the processes that play."""

import logging
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from .images import as_float_array
from .models import Round
from .reveal import centre_crop, noise_background, partner_view
from .win_rule import win_top_k

log = logging.getLogger(__name__)
# A click post waits this long for the partner's forward; past it the answer carries no guesses (logged).
PARTNER_TIMEOUT_S = 30.0


def _setting(name: str) -> Any:
    return settings.CLICKME[name]


@lru_cache(maxsize=64)
def _image_array(image_id: int, file_name: str) -> np.ndarray:
    from django.core.files.storage import default_storage
    from PIL import Image as PILImage

    with default_storage.open(file_name, "rb") as handle, PILImage.open(handle) as image:
        return as_float_array(image)


@lru_cache(maxsize=64)
def _round_background(round_id: int, image_id: int, file_name: str) -> np.ndarray:
    """The round's noise background: the same for every post of the round, so made once per process."""
    crop = centre_crop(_image_array(image_id, file_name), _setting("PARTNER_CROP_PX"))
    background = noise_background(crop, round_id, _setting("NOISE_STD"))
    background.setflags(write=False)
    return background


def partner_submit(round_: Round) -> Future | None:
    """Render what the round's clicks reveal and queue it for the partner's forward thread
    (game/partner.py ForwardBatcher); None when the round has no partner. Never raises: a failure is
    returned as a failed Future, so it cannot undo the clicks' transaction this runs in."""
    partner = round_.partner
    if partner is None:
        return None
    try:
        from . import partner as partner_runtime  # torch is loaded by the processes that play, not by every one

        runtime = partner_runtime.runtime_for(
            partner.pk, partner_runtime.PartnerSpec.of(partner), _setting("TORCH_THREADS")
        )
        image = _image_array(round_.image_id, round_.image.file.name)
        view = partner_view(
            image,
            [(x, y) for x, y, _t in round_.clicks],
            seed=round_.pk,
            background=_round_background(round_.pk, round_.image_id, round_.image.file.name),
            crop_px=_setting("PARTNER_CROP_PX"),
            bubble_px=_setting("PARTNER_BUBBLE_PX"),
            noise_std=_setting("NOISE_STD"),
        )
        return runtime.submit(view)
    except Exception as error:
        failed: Future = Future()
        failed.set_exception(error)
        return failed


def partner_guesses(round_: Round, pending: Future | None) -> tuple[list[dict[str, Any]], bool]:
    """What the round's partner makes of the round's clicks: (guesses, recognized). `pending` is the
    forward `partner_submit` queued for these clicks (None: the round has no partner)."""
    partner = round_.partner
    if partner is None or pending is None:
        return [], False
    from . import partner as partner_runtime

    probabilities = pending.result(timeout=PARTNER_TIMEOUT_S)
    k = win_top_k(len(partner.category_mapping), _setting("WIN_TOP_K"))
    guesses = []
    for index, probability in partner_runtime.top_k(probabilities, max(5, k)):
        category_id, label = partner.category_mapping[index]
        guesses.append({"category_id": category_id, "name": label, "probability": round(probability, 4)})
    # SCIENCE.md section 1: won when the category is in the partner's top k (game/win_rule.py)
    recognized = any(g["category_id"] == round_.image.category_id for g in guesses[:k])
    return guesses[:5], recognized


def guesses_save(round_id: int, n_clicks: int, guesses: list[dict[str, Any]]) -> None:
    """Keep an open round's latest guesses, unless a later post has stored clicks since (its own
    guesses are newer). They are a display copy (the answer already carries them), so on PostgreSQL
    this commit does not wait for the WAL flush: a crash may lose the last fraction of a second of
    guesses, never a click or a score. Failures are logged, never raised: this may run after the
    answer has been sent."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            Round.objects.filter(pk=round_id, state=Round.State.OPEN, n_clicks=n_clicks).update(last_guesses=guesses)
    except Exception:
        log.exception("round %s: could not keep the partner's guesses", round_id)
