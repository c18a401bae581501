"""Per-image playability (docs/SCIENCE.md section 1): each image is screened against a partner by
simulated rounds (game/validity.py screen_images) and served only when it can be lost and won.

Records are kept per image and partner (ImageScreening); the active partner's verdicts are copied to
Image.playability, which round assignment reads (game/selectors.py). Screening runs in a worker
(game/tasks.py images_screen) after an import and whenever the active partner changes, a batch at a
time, so images become playable as they pass; `manage.py screen_images` runs it in the foreground.
Torch loads only in the process that screens.
"""

import io
import logging
from collections.abc import Callable, Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery

from .images import as_float_array
from .models import Image, ImageScreening, Partner, Playability
from .playability import ScreeningPlan, screen_images
from .validity import GameRules, RoundImage
from .win_rule import win_top_k

log = logging.getLogger(__name__)
BATCH_IMAGES = 64


def partner_targets(partner: Partner) -> dict[int, list[int]]:
    """The partner's output indices of each category it knows."""
    targets: dict[int, list[int]] = {}
    for index, (category_id, _label) in enumerate(partner.category_mapping):
        if category_id:
            targets.setdefault(category_id, []).append(index)
    return targets


def playability_apply(*, partner: Partner | None, image_ids: Iterable[int] | None = None) -> int:
    """Copy `partner`'s verdicts to Image.playability (all images, or `image_ids`); images it has not
    screened become unscreened. With no partner every image is unscreened. Returns the rows updated."""
    images = Image.objects.all() if image_ids is None else Image.objects.filter(pk__in=list(image_ids))
    if partner is None:
        return images.update(playability=Playability.UNSCREENED)
    verdict = ImageScreening.objects.filter(image=OuterRef("pk"), partner=partner).values("verdict")[:1]
    screened = images.filter(screenings__partner=partner)
    updated = screened.update(playability=Subquery(verdict))
    return updated + images.exclude(screenings__partner=partner).update(playability=Playability.UNSCREENED)


def round_image(image: Image, targets: list[int]) -> RoundImage:
    """The image as the simulated rounds play it (decoded, its mask where one is known)."""
    from PIL import Image as PILImage

    with image.file.open("rb") as handle, PILImage.open(handle) as picture:
        array = as_float_array(picture)
    mask = None
    if image.mask:
        with image.mask.open("rb") as handle, PILImage.open(io.BytesIO(handle.read())) as picture:
            mask = np.asarray(picture.convert("L")) > 127
    return RoundImage(image=array, targets=tuple(targets), mask=mask, name=image.source_name or f"image {image.pk}")


def partner_predict(partner: Partner) -> Callable:
    """The partner's network as predict(views) -> probabilities; torch loads here, in the process that asks."""
    from . import partner as partner_runtime

    return partner_runtime.PartnerRuntime(partner_runtime.PartnerSpec.of(partner)).predict


def images_screen(
    *,
    partner: Partner,
    images: list[Image],
    predict: Callable | None = None,
    plan: ScreeningPlan = ScreeningPlan(),
    seed: int = 0,
) -> list[ImageScreening]:
    """Screen `images` against `partner` and store one record each; when the partner is the active one
    their Image.playability follows. Images of categories it does not know are recorded as such, with
    no forward. `predict` (the partner's, loaded once) may be passed in by a caller screening many batches."""
    targets = partner_targets(partner)
    known = [image for image in images if image.category_id in targets]
    items = [round_image(image, targets[image.category_id]) for image in known]
    if items and predict is None:
        predict = partner_predict(partner)
    n_outputs = len(partner.category_mapping)
    results = screen_images(
        predict,
        items,
        top_k=win_top_k(n_outputs, settings.CLICKME["WIN_TOP_K"]),
        rules=GameRules.from_settings(settings.CLICKME),
        plan=plan,
        seed=seed,
    )
    by_image = {image.pk: result for image, result in zip(known, results, strict=True)}
    records = []
    for image in images:
        result = by_image.get(image.pk)
        fields = (
            {
                "verdict": result.verdict,
                "full_view_win": result.full_view_win,
                "zero_click_wins": result.zero_click_wins,
                "zero_click_rounds": result.zero_click_rounds,
                "careless_wins": result.careless_wins,
                "careless_rounds": result.careless_rounds,
                "careful_wins": result.careful_wins,
                "careful_rounds": result.careful_rounds,
                "careful_clicks": result.careful_clicks,
            }
            if result is not None
            else {"verdict": Playability.OUTSIDE_CATEGORIES}
        )
        records.append(ImageScreening(image=image, partner=partner, **fields))
    with transaction.atomic():
        ImageScreening.objects.filter(partner=partner, image__in=images).delete()
        ImageScreening.objects.bulk_create(records)
        if Partner.objects.filter(pk=partner.pk, is_active=True).exists():
            playability_apply(partner=partner, image_ids=[image.pk for image in images])
    return records


def unscreened_images(*, partner: Partner, limit: int | None = None) -> list[Image]:
    """Active, unretired images the partner has not screened yet, oldest first."""
    pending = (
        Image.objects.filter(active=True, retired=False)
        .exclude(screenings__partner=partner)
        .select_related("category")
        .order_by("id")
    )
    return list(pending[:limit] if limit else pending)


def screen_pending(
    *,
    partner: Partner,
    batch: int = BATCH_IMAGES,
    max_images: int | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> int:
    """Screen the active images `partner` has not screened, a committed batch at a time (each batch is
    playable as soon as it passes); stops after `max_images`. Returns how many were screened."""
    predict = None
    done = 0
    while max_images is None or done < max_images:
        size = batch if max_images is None else min(batch, max_images - done)
        images = unscreened_images(partner=partner, limit=size)
        if not images:
            break
        if predict is None and any(image.category_id in partner_targets(partner) for image in images):
            predict = partner_predict(partner)
        images_screen(partner=partner, images=images, predict=predict)
        done += len(images)
        if on_progress:
            on_progress(len(images))
    return done


def playability_counts() -> dict[str, int]:
    """Active, unretired images by playability against the active partner (every value, zeros included)."""
    from django.db.models import Count

    counts = dict(
        Image.objects.filter(active=True, retired=False)
        .values_list("playability")
        .annotate(n=Count("id"))
        .values_list("playability", "n")
    )
    return {value: counts.get(value, 0) for value in Playability.values}
