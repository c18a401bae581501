"""Reads for researchers: images with their map summary, raw rounds, dataset statistics."""

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet, Sum

from clickme_site.json_functions import JSONArrayLength
from game.models import COMPLETED_STATES, Category, Image, Player, Round, map_eligible

from . import maps
from .filters import ImageFilter
from .models import ClickMap

Clicks = list[list[float]]


def _first_round_of_each_player(rows: Iterable[tuple[int, int, Any]]) -> list[tuple[int, Any]]:
    first, seen = [], set()
    for round_id, player_id, value in rows:
        if player_id not in seen:
            seen.add(player_id)
            first.append((round_id, value))
    return first


def _eligible_rounds_of(image_id: int) -> QuerySet[Round]:
    return Round.objects.map_eligible().filter(image_id=image_id).order_by("player_id", "started_at", "id")


def qualifying_rounds(*, image_id: int) -> list[tuple[int, Clicks]]:
    """docs/SCIENCE.md section 2: completed rounds with at least min_clicks clicks, not flagged, not of a
    banned player (`game.models.map_eligible`, the one place that says so), the first of each player:
    (round id, clicks) pairs."""
    return _first_round_of_each_player(_eligible_rounds_of(image_id).values_list("id", "player_id", "clicks"))


def map_fingerprint(round_sizes: Iterable[tuple[int, int]]) -> str:
    """What a map was built from: the recipe and each qualifying round's id and number of clicks."""
    digest = hashlib.sha256(maps.RECIPE.encode())
    for round_id, n_clicks in sorted(round_sizes):
        digest.update(f"{round_id}:{n_clicks};".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class MapInputs:
    """What an image's ClickMe map is computed from, read at one moment, with its fingerprint."""

    image_id: int
    height: int
    width: int
    rounds: list[tuple[int, Clicks]]
    fingerprint: str


def map_inputs(*, image_id: int) -> MapInputs | None:
    """The image's size and qualifying rounds (None when the image is gone). Reads, locks nothing."""
    size = Image.objects.filter(pk=image_id).values_list("height", "width").first()
    if size is None:
        return None
    rounds = qualifying_rounds(image_id=image_id)
    fingerprint = map_fingerprint((round_id, len(clicks)) for round_id, clicks in rounds)
    return MapInputs(image_id=image_id, height=size[0], width=size[1], rounds=rounds, fingerprint=fingerprint)


def map_inputs_fingerprint(*, image_id: int) -> str:
    """`map_inputs(...).fingerprint` as stored now, without reading the clicks (their count is taken in SQL)."""
    rows = (
        _eligible_rounds_of(image_id)
        .annotate(n_stored=JSONArrayLength("clicks"))
        .values_list("id", "player_id", "n_stored")
    )
    return map_fingerprint(_first_round_of_each_player(rows))


def clickmap_of(*, image_id: int) -> ClickMap | None:
    return ClickMap.objects.filter(image_id=image_id).first()


def stale_image_ids() -> list[int]:
    """Images whose map-eligible rounds are not all in their map (or that have no map yet), and maps
    built from clicks that no eligible round is left for (flagged, banned or deleted since)."""
    done = map_eligible("rounds__")
    images = Image.objects.annotate(
        n_done=Count("rounds", filter=done), last_done=Max("rounds__finished_at", filter=done)
    )
    behind = Q(clickmap__isnull=True) | Q(clickmap__updated_at__lt=F("last_done")) | ~Q(clickmap__n_players=F("n_done"))
    orphaned = Q(n_done=0, clickmap__source="clicks")
    return list(images.filter((Q(n_done__gt=0) & behind) | orphaned).values_list("id", flat=True))


def completed_image_ids() -> list[int]:
    """Images with at least one completed round (whatever its quality)."""
    return list(
        Round.objects.filter(state__in=COMPLETED_STATES).values_list("image_id", flat=True).distinct().order_by()
    )


def filtered_images(*, filters: Mapping[str, Any]) -> QuerySet[Image]:
    """Images matching the researchers' filters; ValueError naming the key when a value is bad."""
    unknown = set(filters) - set(ImageFilter.base_filters)
    if unknown:
        raise ValueError(f"filters.{sorted(unknown)[0]}: unknown filter")
    filterset = ImageFilter(data={k: str(v) for k, v in filters.items()}, queryset=Image.objects.all())
    if not filterset.is_valid():
        key, errors = next(iter(filterset.errors.items()))
        raise ValueError(f"filters.{key}: {errors[0]}")
    return filterset.qs


def images_with_maps() -> QuerySet[Image]:
    return Image.objects.select_related("category", "clickmap").order_by("id")


def categories_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(
        n_images=Count("images", distinct=True), n_maps=Count("images__clickmap", distinct=True)
    ).order_by("id")


def player_pseudonym(*, player_public_id: object) -> str:
    """An opaque, stable hash of a player for researchers: never the session, IP or nickname."""
    key = f"research-player:{settings.SECRET_KEY}".encode()
    return hmac.new(key, str(player_public_id).encode(), hashlib.sha256).hexdigest()[:20]


def rounds_for_research(*, queryset: QuerySet[Round]) -> Iterator[dict[str, Any]]:
    """Rows of the clicks stream, fetched with a server-side cursor (constant memory)."""
    rows = queryset.order_by("id").values_list(
        "id",
        "image_id",
        "image__source_name",
        "player__public_id",
        "clicks",
        "state",
        "score",
        "started_at",
        "finished_at",
        "partner__name",
        "quality_flags",
        "player__banned_at",
    )
    for (
        round_id,
        image_id,
        source_name,
        public_id,
        clicks,
        state,
        score,
        started_at,
        finished_at,
        partner,
        flags,
        banned_at,
    ) in rows.iterator(chunk_size=2000):
        yield {
            "round_id": round_id,
            "image_id": image_id,
            "source_name": source_name,
            "player": player_pseudonym(player_public_id=public_id),
            "clicks": clicks,
            "state": state,
            "score": score,
            "started_at": started_at.isoformat().replace("+00:00", "Z"),
            "finished_at": finished_at.isoformat().replace("+00:00", "Z") if finished_at else None,
            "partner_model": partner,
            # game/round_quality.py's flags, and "banned_player" when an admin banned the player
            "flags": [*flags, *(["banned_player"] if banned_at is not None else [])],
        }


def _split_half_null(limit_images: int = 40) -> float | None:
    """The null of docs/SCIENCE.md section 2 on a sample of images with at least 4 players (cached)."""
    latest = ClickMap.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    key = f"annotations:split-half-null:{latest.timestamp() if latest else 0}"
    cached = cache.get(key)
    if cached is not None:
        return cached["value"]
    image_ids = list(
        ClickMap.objects.filter(n_players__gte=maps.MIN_PLAYERS_FOR_RHO, source="clicks")
        .order_by("image_id")
        .values_list("image_id", flat=True)[:limit_images]
    )
    sizes = dict(Image.objects.filter(pk__in=image_ids).values_list("id", "height"))
    same_size = [i for i in image_ids if sizes[i] == 256]
    players = [[clicks for _rid, clicks in qualifying_rounds(image_id=i)] for i in same_size]
    value = maps.split_half_null(players, 256, 256, seed=0) if len(players) >= 2 else None
    cache.set(key, {"value": value}, 3600)
    return value


def dataset_stats() -> dict[str, Any]:
    completed = Round.objects.filter(state__in=COMPLETED_STATES)
    totals = completed.aggregate(n_rounds=Count("id"), n_clicks=Sum("n_clicks"))
    rhos = list(ClickMap.objects.filter(split_half_rho__isnull=False).values_list("split_half_rho", flat=True))
    mean, ci95 = maps.bootstrap_mean_ci(rhos)
    return {
        "n_images": Image.objects.filter(active=True).count(),
        "n_maps": ClickMap.objects.count(),
        "n_players": Player.objects.filter(Q(rounds__state__in=COMPLETED_STATES)).distinct().count(),
        "n_rounds": totals["n_rounds"],
        "n_clicks": totals["n_clicks"] or 0,
        # null_mean: docs/SCIENCE.md section 2's null, halves of two different images (None under 2 such images)
        "split_half_rho": {"mean": mean, "ci95": ci95, "n_images": len(rhos), "null_mean": _split_half_null()},
    }
