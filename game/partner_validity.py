"""Game validity of a partner (docs/SCIENCE.md section 1): its report on the images it would be served,
kept in Partner.metrics["validity"], and the promotion rule that reads it (game/promotion_rule.py).

The report first screens a sample of the active images of the categories the partner knows
(game/screening.py: each image's record is kept), then plays fresh simulated rounds (game/validity.py,
other seeds than the screening's) on the images that passed: the images it would be served. Promotion
refuses, unless forced, a partner that misses one of the game's targets beyond its interval, or that has
no playable image at all. Torch is loaded only when a report is computed (by the process that asks for
it), never on import.
"""

import logging
import math

import numpy as np
from django.conf import settings
from django.utils import timezone

from clickme_site.errors import Conflict

from .models import Image, Partner, Playability
from .promotion_rule import targets, targets_missed
from .screening import images_screen, partner_predict, partner_targets, round_image
from .validity import GameRules, validity_report
from .win_rule import win_top_k

log = logging.getLogger(__name__)

VALIDITY_KEY = "validity"
MIN_ROUNDS = 20  # with fewer images, each is played several times (other noise, other strokes)
DEFAULT_IMAGES = 100
REPORT_SEED_OFFSET = 10_000  # the report's rounds never replay the screening's noise and strokes


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


def partner_validity_compute(partner, *, n_images=None, rounds_per_image=None, seed=0):
    """Screen a sample of the active images against the partner (each image's record is stored), play
    the validity report on those that passed, store it in the partner's metrics and return (the stored
    dict, the ValidityReport)."""
    targets = partner_targets(partner)
    ids = validity_image_ids(partner, n_images, seed)
    images = list(Image.objects.filter(pk__in=ids).select_related("category").order_by("id"))
    predict = partner_predict(partner) if images else None
    records = images_screen(partner=partner, images=images, predict=predict, seed=seed)
    verdicts: dict[str, int] = {}
    for record in records:
        verdicts[record.verdict] = verdicts.get(record.verdict, 0) + 1
    playable = [image for image, record in zip(images, records, strict=True) if record.verdict == Playability.PLAYABLE]
    items = [round_image(image, targets[image.category_id]) for image in playable]
    rounds = rounds_per_image or max(1, math.ceil(MIN_ROUNDS / max(len(items), 1)))
    n_outputs = len(partner.category_mapping)
    report = validity_report(
        predict,
        items,
        n_outputs=n_outputs,
        top_k=win_top_k(n_outputs, _setting("WIN_TOP_K")),
        rules=GameRules.from_settings(settings.CLICKME),
        rounds_per_image=rounds,
        seed=seed + REPORT_SEED_OFFSET,
    )
    stored = {
        **report.as_dict(),
        "n_screened": len(images),
        "n_playable": len(playable),
        "screening": verdicts,
        "images": [item.name for item in items],
        "computed_at": timezone.now().isoformat(timespec="seconds"),
    }
    partner.metrics = {**(partner.metrics or {}), VALIDITY_KEY: stored}
    Partner.objects.filter(pk=partner.pk).update(metrics=partner.metrics)
    return stored, report


def promotion_refusal(validity):
    """Why a partner with this stored report may not be promoted, or None when it may."""
    if not validity:
        return None  # never measured (a partner registered before reports existed)
    if not validity.get("n_rounds"):
        if validity.get("n_screened"):
            screening = ", ".join(f"{n} {verdict}" for verdict, n in sorted(validity.get("screening", {}).items()))
            return (
                f"none of the {validity['n_screened']} active images of its categories screened is playable "
                f"against it ({screening}): no round against it could be both lost and won"
            )
        return (
            "no active image is of a category the partner knows: no round against it could be won "
            "(import or activate images of its categories first)"
        )
    missed = targets_missed(validity)
    if missed:
        return (
            f"on its {validity['n_playable']} playable images (chance {validity['chance']:.2%}): "
            + "; ".join(missed)
            + "; force it to promote it anyway"
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


def validity_rows(validity):
    """The stored report as (label, text) rows for people (the command, the admin, the dashboard): the
    screening's counts, then each target of the rule with its bound and whether it is met."""
    if not validity:
        return []
    rows = []
    if "n_screened" in validity:
        verdicts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(validity.get("screening", {}).items()))
        rows.append(
            ("screened", f"{validity['n_screened']} active images: {validity['n_playable']} playable ({verdicts})")
        )
    rounds = validity.get("rounds_per_image", 1)
    rows += [
        ("report", f"{validity.get('n_images', 0)} playable images x {rounds} rounds (other seeds than the screening)"),
        ("win rule", f"top {validity.get('top_k')} of {validity.get('n_outputs')} outputs"),
        ("chance", f"{validity.get('chance', 0):.2%}"),
    ]
    labels = {
        "zero-click win": "zero-click win",
        "careful win": "careful win (diagnostic region)",
        "careless win": f"careless win ({validity.get('careless_clicks', 30)} clicks anywhere)",
    }
    if validity.get("n_rounds"):
        for target in targets(validity):
            low, high = target.ci95
            relation = "<=" if target.side == "max" else ">="
            verdict = "met" if target.met else ("MISSED" if target.missed else "missed within its interval")
            wins = validity.get(
                {"zero-click win": "zero_click_wins", "careful win": "careful_wins"}.get(target.name, "careless_wins")
            )
            rows.append(
                (
                    labels[target.name],
                    f"{target.rate:.1%} [95% CI {low:.1%}, {high:.1%}] ({wins}/{validity['n_rounds']}); "
                    f"target {relation} {target.bound:.1%}: {verdict}",
                )
            )
    else:
        rows.append(("win rates", "not measured (no playable image of its categories)"))
    clicks, ms = validity.get("careful_median_clicks"), validity.get("careful_median_ms")
    rows += [
        ("careful: median to a win", f"{clicks:g} clicks, {ms / 1000:.2f} s" if clicks is not None else "no win"),
        ("computed at", validity.get("computed_at", "")),
    ]
    return rows
