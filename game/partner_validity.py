"""Game validity of a partner (issue 8, docs/SCIENCE.md section 1): its report on the active images, kept
in Partner.metrics["validity"], and the promotion rule that reads it.

The report plays simulated rounds (game/validity.py) against the partner's network on active images
of the categories it knows. Promotion refuses a partner whose zero-click win rate is above
CLICKME_MAX_ZERO_CLICK_WIN (the game could not be lost) unless forced. Torch is loaded only when a
report is computed (by the process that asks for it), never on import.
"""

import io
import logging
import math

import numpy as np
from django.conf import settings
from django.utils import timezone

from clickme_site.errors import Conflict

from .images import as_float_array
from .models import Image, Partner
from .services import partner_activate
from .validity import GameRules, RoundImage, validity_report
from .win_rule import win_top_k

log = logging.getLogger(__name__)

VALIDITY_KEY = "validity"
MIN_ROUNDS = 20  # with fewer images, each is played several times (other noise, other strokes)
DEFAULT_IMAGES = 50


def _setting(name):
    return settings.CLICKME[name]


def validity_image_ids(partner, n_images=None, seed=0):
    """Active images whose category is one of the partner's outputs: all, or a seeded sample of n."""
    known = {category_id for category_id, _label in partner.category_mapping if category_id}
    ids = list(Image.objects.filter(active=True, category_id__in=known).order_by("id").values_list("id", flat=True))
    n_images = n_images or DEFAULT_IMAGES
    if len(ids) > n_images:
        ids = sorted(np.random.default_rng(seed).choice(ids, n_images, replace=False).tolist())
    return ids


def _round_image(image, targets):
    from PIL import Image as PILImage

    with image.file.open("rb") as handle, PILImage.open(handle) as picture:
        array = as_float_array(picture)
    mask = None
    if image.mask:
        with image.mask.open("rb") as handle, PILImage.open(io.BytesIO(handle.read())) as picture:
            mask = np.asarray(picture.convert("L")) > 127
    return RoundImage(image=array, targets=tuple(targets), mask=mask, name=image.source_name or f"image {image.pk}")


def _runtime(partner):
    from . import partner as partner_runtime  # torch, in the process that computes the report

    return partner_runtime.PartnerRuntime(partner_runtime.PartnerSpec.of(partner))


def partner_validity_compute(partner, *, n_images=None, rounds_per_image=None, seed=0):
    """Compute the partner's validity report on the active images, store it in its metrics and return
    (the stored dict, the ValidityReport)."""
    targets: dict[int, list[int]] = {}
    for index, (category_id, _label) in enumerate(partner.category_mapping):
        if category_id:
            targets.setdefault(category_id, []).append(index)
    ids = validity_image_ids(partner, n_images, seed)
    images = Image.objects.filter(pk__in=ids).order_by("id")
    items = [_round_image(image, targets[image.category_id]) for image in images]
    rounds = rounds_per_image or max(1, math.ceil(MIN_ROUNDS / max(len(items), 1)))
    n_outputs = len(partner.category_mapping)
    report = validity_report(
        _runtime(partner).predict if items else None,
        items,
        n_outputs=n_outputs,
        top_k=win_top_k(n_outputs, _setting("WIN_TOP_K")),
        rules=GameRules.from_settings(settings.CLICKME),
        rounds_per_image=rounds,
        seed=seed,
    )
    stored = {
        **report.as_dict(),
        "images": [item.name for item in items],
        "computed_at": timezone.now().isoformat(timespec="seconds"),
    }
    partner.metrics = {**(partner.metrics or {}), VALIDITY_KEY: stored}
    Partner.objects.filter(pk=partner.pk).update(metrics=partner.metrics)
    return stored, report


def promotion_refusal(validity, max_zero_click_win=None):
    """Why a partner with this stored report may not be promoted, or None when it may."""
    limit = _setting("MAX_ZERO_CLICK_WIN") if max_zero_click_win is None else max_zero_click_win
    if not validity:
        return None  # never measured (a partner registered before reports existed)
    if not validity.get("n_rounds"):
        return (
            "no active image is of a category the partner knows: no round against it could be won "
            "(import or activate images of its categories first)"
        )
    zero = validity["zero_click_win"]
    if zero > limit:
        low, high = validity.get("zero_click_win_ci95", [zero, zero])
        return (
            f"the partner wins {zero:.0%} of rounds with no click (95% CI {low:.0%}-{high:.0%}, "
            f"{validity['n_images']} active images, chance {validity['chance']:.1%}), above "
            f"CLICKME_MAX_ZERO_CLICK_WIN {limit:.0%}: it reads the images through the noise and the game "
            "could not be lost; force it to promote it anyway"
        )
    return None


def promotion_check(partner, *, force=False):
    """Refuse (409 partner_refused) a partner whose stored report breaks the game, unless forced."""
    reason = promotion_refusal((partner.metrics or {}).get(VALIDITY_KEY))
    if reason and not force:
        raise Conflict(f"{partner.name} refused: {reason}", "partner_refused")
    if reason:
        log.warning("partner %s promoted by force: %s", partner.name, reason)
    return reason


def partner_promote(partner, *, force=False, n_images=None):
    """Make `partner` the game's partner after computing its validity report; 409 partner_refused
    when the report says the game could not be lost (unless forced). Returns the forced reason or None."""
    partner_validity_compute(partner, n_images=n_images)
    reason = promotion_check(partner, force=force)
    partner_activate(partner=partner)
    return reason


def validity_rows(validity):
    """The stored report as (label, text) rows for people (the command, the admin, the dashboard)."""
    if not validity:
        return []

    def rate(name):
        value, interval = validity.get(name), validity.get(f"{name}_ci95")
        if value is None:
            return "not measured (no active image of its categories)"
        wins = validity.get(f"{name}s")
        counts = f" ({wins}/{validity['n_rounds']})" if wins is not None and validity.get("n_rounds") else ""
        return f"{value:.1%} [95% CI {interval[0]:.1%}, {interval[1]:.1%}]{counts}"

    clicks, ms = validity.get("careful_median_clicks"), validity.get("careful_median_ms")
    rounds = validity.get("rounds_per_image", 1)
    return [
        ("images", f"{validity.get('n_images', 0)} active images x {rounds} rounds"),
        ("win rule", f"top {validity.get('top_k')} of {validity.get('n_outputs')} outputs"),
        ("zero-click win", rate("zero_click_win")),
        (f"careless win ({validity.get('careless_clicks', 30)} clicks anywhere)", rate("careless_win")),
        ("careful win (diagnostic region)", rate("careful_win")),
        ("chance", f"{validity.get('chance', 0):.2%}"),
        (
            "careful: median to a win",
            f"{clicks:g} clicks, {ms / 1000:.2f} s" if clicks is not None else "no win",
        ),
        ("computed at", validity.get("computed_at", "")),
    ]
