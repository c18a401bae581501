"""Writes of the annotations app: building maps from stored clicks, imports and exports."""

import hashlib
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clickme_site.private_files import private_path, private_relative
from game.models import Image

from . import maps, queueing, selectors
from .map_encoding import npy_array, npy_bytes
from .models import ClickMap, Export
from .npz_stream import NpzStreamWriter

log = logging.getLogger(__name__)
EXPORT_CHUNK = 64  # maps read, resized and written at a time: bounds an export's memory
EXPORT_LEASE = timedelta(minutes=10)  # a running export silent for this long was lost with its worker
UNSENT_GRACE = timedelta(seconds=30)  # an export committed this recently may still be on its way to the broker
MAP_BUILD_ATTEMPTS = 3  # builds whose inputs changed while they computed, before the build is requeued


def map_rebuild(*, image_id: int, force: bool = False) -> ClickMap | None:
    """Build the image's map from its stored clicks; a no-op when its inputs have not changed.

    The map and its split halves are computed outside any transaction, holding no lock, so a round
    closing on the image never waits for them. The result is written only if the inputs' fingerprint
    is still the one it was computed from; otherwise the build starts again from fresh inputs, and
    after MAP_BUILD_ATTEMPTS it is requeued. Locks: the image's row, for the check and the write only
    (after a round's own row, in game/services.py's order). Readers see the old map or the new one."""
    for attempt in range(1, MAP_BUILD_ATTEMPTS + 1):
        inputs = selectors.map_inputs(image_id=image_id)
        if inputs is None:
            return None
        existing = selectors.clickmap_of(image_id=image_id)
        if not inputs.rounds and (existing is None or existing.source != "clicks"):
            return None  # nothing to build, and an imported map is kept
        if inputs.rounds and existing is not None and existing.fingerprint == inputs.fingerprint and not force:
            return existing
        written, clickmap = _map_write_if_unchanged(inputs=inputs, computed=_map_compute(inputs))
        if written:
            return clickmap
        log.info("image %s: its rounds changed while its map was computed (attempt %d)", image_id, attempt)
    try:
        queueing.map_rebuild_queue(image_id=image_id)
    except Exception as error:  # broker down: the periodic stale rebuild finds the map out of date
        log.warning("could not requeue the map rebuild of image %s: %s", image_id, error)
    return selectors.clickmap_of(image_id=image_id)


def _map_compute(inputs: selectors.MapInputs) -> tuple[np.ndarray, float | None] | None:
    """The map and its split-half rho (docs/SCIENCE.md section 2); slow, so run with no lock held."""
    if not inputs.rounds:
        return None
    player_clicks = [np.asarray(clicks, dtype=np.float64) for _round_id, clicks in inputs.rounds]
    the_map = maps.clickme_map(player_clicks, inputs.height, inputs.width)
    rho = maps.split_half_rho(player_clicks, inputs.height, inputs.width, seed=inputs.image_id)
    return the_map, rho


@transaction.atomic
def _map_write_if_unchanged(
    *, inputs: selectors.MapInputs, computed: tuple[np.ndarray, float | None] | None
) -> tuple[bool, ClickMap | None]:
    """Store the map computed from `inputs` (or delete the clicks map when no round is left) if the
    stored inputs still have their fingerprint: (False, None) when they changed. Locks the image's row."""
    image_id = inputs.image_id
    if not Image.objects.select_for_update().filter(pk=image_id).values_list("pk", flat=True):
        return True, None  # the image is gone
    if selectors.map_inputs_fingerprint(image_id=image_id) != inputs.fingerprint:
        return False, None
    if computed is None:
        ClickMap.objects.filter(image_id=image_id, source="clicks").delete()
        return True, None
    the_map, rho = computed
    clickmap, _created = ClickMap.objects.update_or_create(
        image_id=image_id,
        defaults={
            "data": npy_bytes(the_map),
            "height": inputs.height,
            "width": inputs.width,
            "n_players": len(inputs.rounds),
            "n_clicks": sum(len(clicks) for _round_id, clicks in inputs.rounds),
            "split_half_rho": rho,
            "fingerprint": inputs.fingerprint,
            "source": "clicks",
            "updated_at": timezone.now(),
        },
    )
    return True, clickmap


def maps_rebuild_stale() -> int:
    rebuilt = 0
    for image_id in selectors.stale_image_ids():
        map_rebuild(image_id=image_id)
        rebuilt += 1
    return rebuilt


def maps_rebuild_all() -> int:
    count = 0
    for image_id in selectors.completed_image_ids():
        map_rebuild(image_id=image_id, force=True)
        count += 1
    return count


def export_path(*, export: Export) -> Path:
    return private_path("exports", f"clickme-maps-{export.id}.npz")


def _sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_build(*, export_id: str) -> None:
    """Write the export's .npz (maps resized to its size, float16) in constant memory."""
    now = timezone.now()
    claimable = Q(status=Export.Status.QUEUED) | Q(status=Export.Status.RUNNING, claimed_at__lt=now - EXPORT_LEASE)
    updated = Export.objects.filter(claimable, pk=export_id).update(status=Export.Status.RUNNING, claimed_at=now)
    if not updated:
        return  # built, failed, or being built by a live worker: the task is safe to deliver twice
    export = Export.objects.get(pk=export_id)
    final = export_path(export=export)
    partial = final.with_suffix(".partial")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        rows = list(
            ClickMap.objects.filter(image__in=selectors.filtered_images(filters=export.filters))
            .order_by("image_id")
            .values_list("image_id", "image__category_id", "n_players", "image__source_name")
        )
        meta = np.array([row[:3] for row in rows], dtype=np.int64).reshape(-1, 3)
        source_names = np.array([row[3] for row in rows], dtype=np.str_)  # fixed-width unicode: no pickle
        size = export.size
        with NpzStreamWriter(partial) as npz:
            with npz.stream("maps", (len(meta), size, size), np.float16) as put:
                for start in range(0, len(meta), EXPORT_CHUNK):
                    ids = meta[start : start + EXPORT_CHUNK, 0].tolist()
                    data = dict(ClickMap.objects.filter(image_id__in=ids).values_list("image_id", "data"))
                    put(
                        np.stack([maps.resize_bilinear(npy_array(data[i]).astype(np.float64), size, size) for i in ids])
                        if ids
                        else np.zeros((0, size, size))
                    )
            npz.write("image_ids", meta[:, 0])
            npz.write("category_ids", meta[:, 1])
            npz.write("n_players", meta[:, 2])
            npz.write("source_names", source_names)
        os.replace(partial, final)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.DONE,
            n_maps=len(meta),
            size_bytes=final.stat().st_size,
            sha256=_sha256_file(final),
            file=private_relative(final),
            finished_at=timezone.now(),
        )
    except Exception as error:
        log.exception("export %s failed", export_id)
        partial.unlink(missing_ok=True)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )


def export_request(*, user: User, body: Any) -> Export:
    """Validate an export request and queue it after commit; ValueError naming the bad key."""
    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object")
    unknown = set(body) - {"format", "filters", "size"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown key")
    if body.get("format", "npz") != "npz":
        raise ValueError("format: only 'npz' is supported")
    filters = body.get("filters", {})
    if not isinstance(filters, dict):
        raise ValueError("filters: expected an object")
    selectors.filtered_images(
        filters=filters
    )  # validates the filters now, so a bad one is a 400 rather than a failed job
    size = body.get("size", 224)
    if not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 1024:
        raise ValueError("size: an integer from 8 to 1024")
    export = Export.objects.create(format="npz", filters=filters, size=size, requested_by=user)
    queueing.export_build_queue(export_id=str(export.id))
    return export


def exports_publish_unsent(*, now: datetime | None = None) -> int:
    """Send again the build of every export still queued that never reached the broker (it was down
    when the export was requested). Returns how many the broker took."""
    now = now or timezone.now()
    unsent = Export.objects.filter(
        status=Export.Status.QUEUED, published_at__isnull=True, created_at__lt=now - UNSENT_GRACE
    ).values_list("pk", flat=True)
    return sum(queueing.export_build_send(export_id=str(pk)) for pk in unsent)


def maps_import(*, path: Path | str) -> tuple[int, list[int]]:
    """Read an .npz of the export format back in: one map per known image id. Returns (imported, unknown ids)."""
    source_digest = _sha256_file(path)
    with np.load(path, allow_pickle=False) as npz:
        stack, image_ids, n_players = npz["maps"], npz["image_ids"], npz["n_players"]
    if stack.ndim != 3 or len(stack) != len(image_ids) or len(image_ids) != len(n_players):
        raise ValueError("maps, image_ids and n_players must describe the same N maps")
    known = dict(Image.objects.filter(pk__in=image_ids.tolist()).values_list("id", "height"))
    widths = dict(Image.objects.filter(pk__in=image_ids.tolist()).values_list("id", "width"))
    imported, unknown = 0, []
    for the_map, image_id, players in zip(stack, image_ids.tolist(), n_players.tolist(), strict=True):
        if image_id not in known:
            unknown.append(image_id)
            continue
        resized = maps.resize_bilinear(the_map.astype(np.float64), known[image_id], widths[image_id])
        top = resized.max()
        with transaction.atomic():
            ClickMap.objects.update_or_create(
                image_id=image_id,
                defaults={
                    "data": npy_bytes(resized / top if top > 0 else resized),
                    "height": known[image_id],
                    "width": widths[image_id],
                    "n_players": int(players),
                    "n_clicks": 0,
                    "split_half_rho": None,
                    "fingerprint": f"imported:{source_digest}"[:64],
                    "source": "imported",
                    "updated_at": timezone.now(),
                },
            )
        imported += 1
    return imported, unknown
