"""Reads for researchers: images with their map summary, raw rounds, dataset statistics."""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum

from game.models import Category, Image, Player, Round

from . import maps
from .models import ClickMap
from .services import COMPLETED, qualifying_rounds


def images_with_maps():
    return Image.objects.select_related("category", "clickmap").order_by("id")


def categories_with_counts():
    return Category.objects.annotate(
        n_images=Count("images", distinct=True), n_maps=Count("images__clickmap", distinct=True)
    ).order_by("id")


def player_pseudonym(player_public_id):
    """An opaque, stable hash of a player for researchers: never the session, IP or nickname."""
    key = f"research-player:{settings.SECRET_KEY}".encode()
    return hmac.new(key, str(player_public_id).encode(), hashlib.sha256).hexdigest()[:20]


def rounds_for_research(queryset):
    """Rows of the clicks stream, fetched with a server-side cursor (constant memory)."""
    rows = queryset.order_by("id").values_list(
        "id",
        "image_id",
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
            "player": player_pseudonym(public_id),
            "clicks": clicks,
            "state": state,
            "score": score,
            "started_at": started_at.isoformat().replace("+00:00", "Z"),
            "finished_at": finished_at.isoformat().replace("+00:00", "Z") if finished_at else None,
            "partner_model": partner,
            # game/round_quality.py's flags, and "banned_player" when an admin banned the player
            "flags": [*flags, *(["banned_player"] if banned_at is not None else [])],
        }


def _split_half_null(limit_images=40):
    """The null of SCIENCE.md section 2 on a sample of images with at least 4 players (cached)."""
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
    players = [[clicks for _rid, clicks in qualifying_rounds(i)] for i in same_size]
    value = maps.split_half_null(players, 256, 256, seed=0) if len(players) >= 2 else None
    cache.set(key, {"value": value}, 3600)
    return value


def dataset_stats():
    completed = Round.objects.filter(state__in=COMPLETED)
    totals = completed.aggregate(n_rounds=Count("id"), n_clicks=Sum("n_clicks"))
    rhos = list(ClickMap.objects.filter(split_half_rho__isnull=False).values_list("split_half_rho", flat=True))
    mean, ci95 = maps.bootstrap_mean_ci(rhos)
    return {
        "n_images": Image.objects.filter(active=True).count(),
        "n_maps": ClickMap.objects.count(),
        "n_players": Player.objects.filter(Q(rounds__state__in=COMPLETED)).distinct().count(),
        "n_rounds": totals["n_rounds"],
        "n_clicks": totals["n_clicks"] or 0,
        "split_half_rho": {"mean": mean, "ci95": ci95, "n_images": len(rhos), "null": _split_half_null()},
    }
