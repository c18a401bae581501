"""Writes of the annotations app: building maps from stored clicks, imports and exports."""

import hashlib
import io
import logging
import os
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from clickme_site.private_files import private_path, private_relative
from game.models import COMPLETED_STATES, Image, Round, map_eligible

from . import maps, queueing
from .filters import ImageFilter
from .models import ClickMap, Export
from .npz_stream import NpzStreamWriter

log = logging.getLogger(__name__)
EXPORT_CHUNK = 64  # maps read, resized and written at a time: bounds an export's memory
EXPORT_LEASE = timedelta(minutes=10)  # a running export silent for this long was lost with its worker
UNSENT_GRACE = timedelta(seconds=30)  # an export committed this recently may still be on its way to the broker
COMPLETED = COMPLETED_STATES


def npy_bytes(array, dtype=np.float32):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=dtype), allow_pickle=False)
    return buffer.getvalue()


def npy_array(data):
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)


def qualifying_rounds(image_id):
    """SCIENCE.md section 2: completed rounds with at least min_clicks clicks, not flagged, not of a
    banned player (`game.models.map_eligible`, the one place that says so), the first of each player."""
    rows = (
        Round.objects.map_eligible()
        .filter(image_id=image_id)
        .order_by("player_id", "started_at", "id")
        .values_list("id", "player_id", "clicks")
    )
    first, seen = [], set()
    for round_id, player_id, clicks in rows:
        if player_id not in seen:
            seen.add(player_id)
            first.append((round_id, clicks))
    return first


def map_fingerprint(rounds):
    digest = hashlib.sha256(maps.RECIPE.encode())
    for round_id, clicks in sorted(rounds, key=lambda r: r[0]):
        digest.update(f"{round_id}:{len(clicks)};".encode())
    return digest.hexdigest()


def map_rebuild(image_id, force=False):
    """Build the image's map from its stored clicks; a no-op when the rounds have not changed.
    The row is replaced in one transaction, so readers see the old map or the new one."""
    with transaction.atomic():
        image = Image.objects.select_for_update().filter(pk=image_id).first()
        if image is None:
            return None
        rounds = qualifying_rounds(image_id)
        fingerprint = map_fingerprint(rounds)
        existing = ClickMap.objects.filter(image_id=image_id).only("fingerprint", "source").first()
        if not rounds:
            if existing is not None and existing.source == "clicks":
                existing.delete()
            return None
        if existing is not None and existing.fingerprint == fingerprint and not force:
            return existing
        player_clicks = [np.asarray(clicks, dtype=np.float64) for _round_id, clicks in rounds]
        the_map = maps.clickme_map(player_clicks, image.height, image.width)
        rho = maps.split_half_rho(player_clicks, image.height, image.width, seed=image_id)
        clickmap, _created = ClickMap.objects.update_or_create(
            image_id=image_id,
            defaults={
                "data": npy_bytes(the_map),
                "height": image.height,
                "width": image.width,
                "n_players": len(rounds),
                "n_clicks": sum(len(clicks) for _round_id, clicks in rounds),
                "split_half_rho": rho,
                "fingerprint": fingerprint,
                "source": "clicks",
                "updated_at": timezone.now(),
            },
        )
        return clickmap


def stale_image_ids():
    """Images whose map-eligible rounds are not all in their map (or that have no map yet), and maps
    built from clicks that no eligible round is left for (flagged, banned or deleted since)."""
    done = map_eligible("rounds__")
    images = Image.objects.annotate(
        n_done=Count("rounds", filter=done), last_done=Max("rounds__finished_at", filter=done)
    )
    behind = Q(clickmap__isnull=True) | Q(clickmap__updated_at__lt=F("last_done")) | ~Q(clickmap__n_players=F("n_done"))
    orphaned = Q(n_done=0, clickmap__source="clicks")
    return list(images.filter((Q(n_done__gt=0) & behind) | orphaned).values_list("id", flat=True))


def maps_rebuild_stale():
    rebuilt = 0
    for image_id in stale_image_ids():
        map_rebuild(image_id)
        rebuilt += 1
    return rebuilt


def maps_rebuild_all():
    image_ids = Round.objects.filter(state__in=COMPLETED).values_list("image_id", flat=True).distinct()
    count = 0
    for image_id in list(image_ids):
        map_rebuild(image_id, force=True)
        count += 1
    return count


def filtered_images(filters):
    """Images matching the researchers' filters; ValueError naming the key when a value is bad."""
    unknown = set(filters) - set(ImageFilter.base_filters)
    if unknown:
        raise ValueError(f"filters.{sorted(unknown)[0]}: unknown filter")
    filterset = ImageFilter(data={k: str(v) for k, v in filters.items()}, queryset=Image.objects.all())
    if not filterset.is_valid():
        key, errors = next(iter(filterset.errors.items()))
        raise ValueError(f"filters.{key}: {errors[0]}")
    return filterset.qs


def export_path(export):
    return private_path("exports", f"clickme-maps-{export.id}.npz")


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_build(export_id):
    """Write the export's .npz (maps resized to its size, float16) in constant memory."""
    now = timezone.now()
    claimable = Q(status=Export.Status.QUEUED) | Q(status=Export.Status.RUNNING, claimed_at__lt=now - EXPORT_LEASE)
    updated = Export.objects.filter(claimable, pk=export_id).update(status=Export.Status.RUNNING, claimed_at=now)
    if not updated:
        return  # built, failed, or being built by a live worker: the task is safe to deliver twice
    export = Export.objects.get(pk=export_id)
    final = export_path(export)
    partial = final.with_suffix(".partial")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        rows = (
            ClickMap.objects.filter(image__in=filtered_images(export.filters))
            .order_by("image_id")
            .values_list("image_id", "image__category_id", "n_players")
        )
        meta = np.array(list(rows), dtype=np.int64).reshape(-1, 3)
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


def export_request(user, body):
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
    filtered_images(filters)  # validates the filters now, so a bad one is a 400 rather than a failed job
    size = body.get("size", 224)
    if not isinstance(size, int) or isinstance(size, bool) or not 8 <= size <= 1024:
        raise ValueError("size: an integer from 8 to 1024")
    export = Export.objects.create(format="npz", filters=filters, size=size, requested_by=user)
    queueing.export_build_queue(export_id=str(export.id))
    return export


def exports_publish_unsent(*, now=None):
    """Send again the build of every export still queued that never reached the broker (it was down
    when the export was requested). Returns how many the broker took."""
    now = now or timezone.now()
    unsent = Export.objects.filter(
        status=Export.Status.QUEUED, published_at__isnull=True, created_at__lt=now - UNSENT_GRACE
    ).values_list("pk", flat=True)
    return sum(queueing.export_build_send(export_id=str(pk)) for pk in unsent)


def maps_import(path):
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
