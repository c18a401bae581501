"""Writes that keep the collected data trustworthy: quality flags on finished rounds, the images'
round counts (what retires them), bans, hidden nicknames and deletions that rebuild the maps.

Lock order, everywhere: round rows first (in id order), then image rows (in id order). A map
rebuild holds an image row but never waits for a round row, so no cycle can form.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from . import round_quality
from .models import COMPLETED_STATES, Image, Player, Round, map_eligible
from .signals import images_changed

PLAYER_PATHS_COMPARED = 500  # a player's most recent rounds a new path is compared with


def _images_changed_on_commit(image_ids: Iterable[int]) -> None:
    ids = sorted(set(image_ids))
    if ids:
        transaction.on_commit(lambda: images_changed.send(sender=Round, image_ids=ids))


def quality_rules() -> round_quality.QualityRules:
    """The rule's thresholds, with the brush's cadence and step from the settings the page paints with."""
    return round_quality.QualityRules(
        brush_interval_ms=float(settings.CLICKME["BRUSH_INTERVAL_MS"]),
        brush_step_px=float(settings.CLICKME["BRUSH_MAX_STEP_PX"]),
    )


def round_judge(round_: Round, rules: round_quality.QualityRules | None = None) -> set[int]:
    """Set the quality flags of a closed, row-locked round (game/round_quality.py), and add the
    flags it proves on earlier rounds (the path it replays, the burst it belongs to).

    Locks the earlier rounds it flags, in id order. Returns the ids of the images whose
    map-eligible rounds changed (the round's own image when its flags changed)."""
    rules = rules or quality_rules()
    flags = set(round_.quality_flags) | set(round_quality.click_flags(round_.clicks, rules))
    fingerprint = round_quality.path_fingerprint(round_.clicks, rules)
    proven: dict[int, set[str]] = defaultdict(set)
    if fingerprint is not None:
        with_path = Round.objects.filter(path_fingerprint__isnull=False).exclude(pk=round_.pk)
        others = dict(with_path.filter(image_id=round_.image_id).values_list("pk", "path_fingerprint"))
        recent = with_path.filter(player_id=round_.player_id).order_by("-started_at")[:PLAYER_PATHS_COMPARED]
        others.update(recent.values_list("pk", "path_fingerprint"))
        matches = round_quality.matching_paths(fingerprint, others, rules)
        if matches:
            flags.add(round_quality.DUPLICATE_PATH)
            for other in matches:
                proven[other].add(round_quality.DUPLICATE_PATH)
    if round_.state != Round.State.SKIPPED:
        window = timedelta(seconds=rules.pace_window_s)
        near = Round.objects.filter(
            player_id=round_.player_id, started_at__range=(round_.started_at - window, round_.started_at + window)
        ).exclude(state=Round.State.SKIPPED)
        starts = {pk: started.timestamp() for pk, started in near.values_list("pk", "started_at")}
        starts[round_.pk] = round_.started_at.timestamp()
        offenders = round_quality.pace_offenders(starts, rules)
        if round_.pk in offenders:
            flags.add(round_quality.INHUMAN_PACE)
        for other in offenders - {round_.pk}:
            proven[other].add(round_quality.INHUMAN_PACE)
    changed = {round_.image_id} if sorted(flags) != sorted(round_.quality_flags) else set()
    round_.quality_flags = sorted(flags)
    round_.flagged = bool(flags)
    round_.path_fingerprint = fingerprint
    round_.save(update_fields=["quality_flags", "flagged", "path_fingerprint"])
    return changed | _flags_add(proven)


def _flags_add(proven: dict[int, set[str]]) -> set[int]:
    """Add flags to closed rounds (locked in id order); the ids of the images whose rounds changed."""
    if not proven:
        return set()
    rows = (
        Round.objects.select_for_update()
        .filter(pk__in=sorted(proven))
        .exclude(state=Round.State.OPEN)  # an open round is judged when it closes
        .order_by("pk")
        .values_list("pk", "image_id", "quality_flags")
    )
    changed = set()
    for pk, image_id, flags in list(rows):
        merged = sorted(set(flags) | proven[pk])
        if merged != sorted(flags):
            Round.objects.filter(pk=pk).update(quality_flags=merged, flagged=True)
            changed.add(image_id)
    return changed


def image_counts_refresh(image_ids: Iterable[int]) -> None:
    """Recount the images' rounds from the stored rounds and retire those with enough map-eligible ones.

    Disjoint counts: `completed_rounds` (map-eligible: these retire the image), `n_abandoned`
    (completed with fewer than min_clicks clicks), `n_flagged` (completed with enough clicks but
    flagged or of a banned player), `n_skipped`. Locks the image rows in id order, then counts, so
    two rounds of one image closing at once are both counted."""
    ids = sorted(set(image_ids))
    if not ids:
        return
    list(Image.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    min_clicks = settings.CLICKME["MIN_CLICKS"]
    completed = Q(state__in=COMPLETED_STATES)
    enough = completed & Q(n_clicks__gte=min_clicks)
    counts = {
        row["image_id"]: row
        for row in Round.objects.filter(image_id__in=ids)
        .values("image_id")
        .annotate(
            eligible=Count("id", filter=map_eligible()),
            abandoned=Count("id", filter=completed & Q(n_clicks__lt=min_clicks)),
            flagged_=Count("id", filter=enough & (Q(flagged=True) | Q(player__banned_at__isnull=False))),
            skipped=Count("id", filter=Q(state=Round.State.SKIPPED)),
        )
    }
    plays = settings.CLICKME["PLAYS_PER_IMAGE"]
    for image_id in ids:
        row = counts.get(image_id, {})
        eligible = row.get("eligible", 0)
        Image.objects.filter(pk=image_id).update(
            completed_rounds=eligible,
            n_abandoned=row.get("abandoned", 0),
            n_flagged=row.get("flagged_", 0),
            n_skipped=row.get("skipped", 0),
            retired=eligible >= plays,
        )


def player_ban(*, player: Player, banned: bool = True) -> Player:
    """Ban (or un-ban) a player: their rounds leave (or rejoin) the maps, the exports and the
    leaderboard; their images are recounted and their maps rebuilt after commit.

    Locks the player's row, then their images' rows (in id order)."""
    with transaction.atomic():
        Player.objects.select_for_update().filter(pk=player.pk).first()
        player.banned_at = (player.banned_at or timezone.now()) if banned else None
        Player.objects.filter(pk=player.pk).update(banned_at=player.banned_at)
        image_ids = set(Round.objects.filter(player_id=player.pk).values_list("image_id", flat=True))
        image_counts_refresh(image_ids)
        _images_changed_on_commit(image_ids)
    return player


def player_nickname_hide(*, player: Player, hidden: bool = True) -> Player:
    """Show the player as anonymous on the leaderboard (their nickname stays stored for the admin)."""
    Player.objects.filter(pk=player.pk).update(nickname_hidden=hidden)
    player.nickname_hidden = hidden
    return player


def rounds_delete(*, round_ids: Iterable[int]) -> int:
    """Delete rounds for good; their images are recounted and their maps rebuilt after commit.

    Locks the rounds (in id order), then their images. Returns how many were deleted."""
    with transaction.atomic():
        rows = list(
            Round.objects.select_for_update()
            .filter(pk__in=sorted(set(round_ids)))
            .order_by("pk")
            .values_list("pk", "image_id")
        )
        Round.objects.filter(pk__in=[pk for pk, _image in rows]).delete()
        image_ids = {image_id for _pk, image_id in rows}
        image_counts_refresh(image_ids)
        _images_changed_on_commit(image_ids)
    return len(rows)


def player_delete(*, player: Player) -> int:
    """Delete a player with all their rounds (the maps they fed are rebuilt). Returns the rounds deleted."""
    with transaction.atomic():
        deleted = rounds_delete(round_ids=Round.objects.filter(player_id=player.pk).values_list("pk", flat=True))
        Player.objects.filter(pk=player.pk).delete()
    return deleted


def rounds_review(*, round_ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Judge stored closed rounds again (all of them by default, in id order): for rounds from before
    the rule, or after it changed. Flags are only ever added here. Returns (rounds judged, newly flagged)."""
    queryset = Round.objects.exclude(state=Round.State.OPEN).order_by("pk")
    if round_ids is not None:
        queryset = queryset.filter(pk__in=list(round_ids))
    judged = 0
    flagged_before = Round.objects.filter(flagged=True).count()
    for pk in list(queryset.values_list("pk", flat=True)):
        with transaction.atomic():
            round_ = Round.objects.select_for_update().filter(pk=pk).first()
            if round_ is None:
                continue
            changed = round_judge(round_)
            image_counts_refresh(changed | {round_.image_id})
            _images_changed_on_commit(changed)
        judged += 1
    return judged, Round.objects.filter(flagged=True).count() - flagged_before
