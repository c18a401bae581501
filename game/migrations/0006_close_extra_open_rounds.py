"""Data, before 0007 adds "one open round per player": the extra open rounds that concurrent starts
left are closed as expired (their clicks kept, as a new round abandons the open one) and their images
recounted (the counts of game/moderation.py image_counts_refresh)."""

from django.conf import settings
from django.db import migrations
from django.db.models import Count, Max, Q
from django.utils import timezone


def close_extra_open_rounds(apps, schema_editor):
    Round = apps.get_model("game", "Round")
    Image = apps.get_model("game", "Image")
    players = (
        Round.objects.filter(state="open").values("player_id").annotate(n=Count("id"), last=Max("id")).filter(n__gt=1)
    )
    extra = Round.objects.none()
    for row in players:
        extra = extra | Round.objects.filter(player_id=row["player_id"], state="open").exclude(pk=row["last"])
    image_ids = sorted(set(extra.values_list("image_id", flat=True)))
    extra.update(state="expired", finished_at=timezone.now())
    min_clicks = settings.CLICKME.get("MIN_CLICKS", 1)
    plays = settings.CLICKME["PLAYS_PER_IMAGE"]
    completed = Q(state__in=("won", "expired"))
    enough = completed & Q(n_clicks__gte=min_clicks)
    excluded = Q(flagged=True) | Q(player__banned_at__isnull=False)
    for image_id in image_ids:
        counts = Round.objects.filter(image_id=image_id).aggregate(
            completed_rounds=Count("id", filter=enough & ~excluded),
            n_abandoned=Count("id", filter=completed & Q(n_clicks__lt=min_clicks)),
            n_flagged=Count("id", filter=enough & excluded),
            n_skipped=Count("id", filter=Q(state="skipped")),
        )
        Image.objects.filter(pk=image_id).update(**counts, retired=counts["completed_rounds"] >= plays)


class Migration(migrations.Migration):
    dependencies = [("game", "0005_image_mask_private")]

    operations = [migrations.RunPython(close_extra_open_rounds, migrations.RunPython.noop)]
