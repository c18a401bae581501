"""The partner's side of a click post (docs/SCIENCE.md section 1): render what the round's clicks reveal,
queue the partner's forward, read its guesses, keep their display copy. torch loads only through
game.partner, in the processes that play."""

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import MD5, Cast

from .images import as_float_array
from .models import Partner, Round
from .open_rounds import PlayState
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


def mapping_digest() -> MD5:
    """The md5 of a partner's category mapping in SQL (from a Round: "partner__category_mapping")."""
    return MD5(Cast("category_mapping", TextField()))


_mappings: dict[tuple[int, str], list] = {}


def _mapping_of_digest(partner_id: int, digest: str) -> list:
    mapping = _mappings.get((partner_id, digest))
    if mapping is None:
        mapping, stored_digest = (
            Partner.objects.annotate(digest=mapping_digest())
            .values_list("category_mapping", "digest")
            .get(pk=partner_id)
        )
        if stored_digest == digest:  # kept only under the digest of what was read (an edit may fall between)
            if len(_mappings) >= 8:
                _mappings.clear()
            _mappings[(partner_id, digest)] = mapping
    return mapping


def play_mapping(round_: "Round | PlayState") -> list:
    """The round's partner's category mapping ([category id or None, label] per output). A click post's
    PlayState (game/open_rounds.py) carries the mapping's md5 instead of the mapping: the mapping is read
    once per process per digest, so an edit of it (any edit, even a queryset update) is a new digest. A
    Round row loaded without the digest reads its partner's mapping."""
    if isinstance(round_, PlayState):
        return [] if round_.partner is None else _mapping_of_digest(round_.partner.pk, round_.partner.mapping_md5)
    return round_.partner.category_mapping if round_.partner is not None else []


def partner_submit(play: PlayState, clicks: tuple | list) -> Future | None:
    """Render what `clicks` (the round's stored clicks and the post's) reveal and queue it for the
    partner's forward thread (game/partner.py ForwardBatcher); None when the round has no partner.
    Never raises: a failure is returned as a failed Future, so it cannot cost the post its clicks."""
    partner = play.partner
    if partner is None:
        return None
    try:
        from . import partner as partner_runtime  # torch is loaded by the processes that play, not by every one

        spec = partner_runtime.PartnerSpec.of(partner, n_outputs=len(play_mapping(play)))
        runtime = partner_runtime.runtime_for(partner.pk, spec, _setting("TORCH_THREADS"))
        image = _image_array(play.image_id, play.image_file)
        view = partner_view(
            image,
            [(x, y) for x, y, _t in clicks],
            seed=play.pk,
            background=_round_background(play.pk, play.image_id, play.image_file),
            crop_px=_setting("PARTNER_CROP_PX"),
            bubble_px=_setting("PARTNER_BUBBLE_PX"),
            noise_std=_setting("NOISE_STD"),
        )
        return runtime.submit(view)
    except Exception as error:
        failed: Future = Future()
        failed.set_exception(error)
        return failed


def partner_guesses(play: PlayState, pending: Future | None) -> tuple[list[dict[str, Any]], bool]:
    """What the round's partner makes of the round's clicks: (guesses, recognized). `pending` is the
    forward `partner_submit` queued for these clicks (None: the round has no partner)."""
    if play.partner is None or pending is None:
        return [], False
    from . import partner as partner_runtime

    probabilities = pending.result(timeout=PARTNER_TIMEOUT_S)
    mapping = play_mapping(play)
    k = win_top_k(len(mapping), _setting("WIN_TOP_K"))
    guesses = []
    for index, probability in partner_runtime.top_k(probabilities, max(5, k)):
        category_id, label = mapping[index]
        guesses.append({"category_id": category_id, "name": label, "probability": round(probability, 4)})
    # docs/SCIENCE.md section 1: won when the category is in the partner's top k (game/win_rule.py)
    recognized = any(g["category_id"] == play.category_id for g in guesses[:k])
    return guesses[:5], recognized


def guesses_keep(
    round_id: int,
    n_clicks: int,
    guesses: list[dict[str, Any]],
    after_answer: Callable[[Callable[[], None]], None] | None = None,
) -> None:
    """Keep an open round's latest guesses (a display copy): handed to the process's writer thread
    (game/guesses_writer.py) when CLICKME["GUESSES_WRITE_DELAY_S"] is above 0 and the caller answers a
    player (`after_answer` given); else written once the answer is sent (`after_answer`) or here."""
    delay_s = _setting("GUESSES_WRITE_DELAY_S")
    if after_answer is not None and delay_s > 0:
        from .guesses_writer import writer

        writer(delay_s).put(round_id, n_clicks, guesses)
    elif after_answer is not None:
        after_answer(functools.partial(guesses_save, round_id, n_clicks, guesses))
    else:
        guesses_save(round_id, n_clicks, guesses)


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


def _active_spec() -> tuple[int, Any] | None:
    """(pk, PartnerSpec) of the game's active partner, as a click post builds it; None without one."""
    from . import partner as partner_runtime

    partner = Partner.objects.filter(is_active=True).first()
    if partner is None:
        return None
    return partner.pk, partner_runtime.PartnerSpec.of(partner)


def partner_warm() -> bool:
    """Load the active partner in this process and run one forward through its forward thread, so the
    process's first click post costs what its later ones do (clickme_site/readiness.py: a web worker
    runs this before it serves). False when no partner is active."""
    active = _active_spec()
    if active is None:
        return False
    from . import partner as partner_runtime

    pk, spec = active
    runtime = partner_runtime.runtime_for(pk, spec, _setting("TORCH_THREADS"))
    crop = _setting("PARTNER_CROP_PX")
    runtime.submit(np.zeros((crop, crop, 3), dtype=np.float32)).result(timeout=PARTNER_TIMEOUT_S)
    return True


_warming: dict[tuple[int, Any], threading.Thread] = {}
_warming_lock = threading.Lock()


def partner_readiness() -> str:
    """GET /healthz's "partner" part for this process: "ok" when it holds the active partner, "none"
    when no partner is active, "loading" while it loads one it does not hold yet (a partner promoted
    since the worker started: the load starts here, on a thread, so the worker's next post is warm)."""
    active = _active_spec()
    if active is None:
        return "none"
    from . import partner as partner_runtime

    if partner_runtime.runtime_loaded(*active):
        return "ok"
    with _warming_lock:
        thread = _warming.get(active)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_warm_quietly, name="partner-warm", daemon=True)
            _warming.clear()
            _warming[active] = thread
            thread.start()
    return "loading"


def _warm_quietly() -> None:
    try:
        partner_warm()
    except Exception:
        log.exception("the active partner did not load")
    finally:
        connection.close()  # the thread's own database connection
