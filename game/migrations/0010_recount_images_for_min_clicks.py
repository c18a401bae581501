"""Data: CLICKME_MIN_CLICKS went from 1 to 10 (docs/SCIENCE.md section 2), so every image is recounted
under the setting in force (the counts of game/moderation.py image_counts_refresh): rounds with fewer
clicks than a map needs are abandoned, not completed, and an image they retired is back in play. The
maps built from them are rebuilt by beat's stale-map sweep, which finds them out of date."""

from django.conf import settings
from django.db import migrations
from django.db.models import Count, Q


def recount_images(apps, schema_editor):
    Round = apps.get_model("game", "Round")
    Image = apps.get_model("game", "Image")
    min_clicks = settings.CLICKME.get("MIN_CLICKS", 10)
    plays = settings.CLICKME["PLAYS_PER_IMAGE"]
    completed = Q(state__in=("won", "expired"))
    enough = completed & Q(n_clicks__gte=min_clicks)
    excluded = Q(flagged=True) | Q(player__banned_at__isnull=False)
    counts = {
        row["image_id"]: row
        for row in Round.objects.values("image_id").annotate(
            completed_rounds=Count("id", filter=enough & ~excluded),
            n_abandoned=Count("id", filter=completed & Q(n_clicks__lt=min_clicks)),
            n_flagged=Count("id", filter=enough & excluded),
            n_skipped=Count("id", filter=Q(state="skipped")),
        )
    }
    fields = ("completed_rounds", "n_abandoned", "n_flagged", "n_skipped")
    for image_id in Image.objects.filter(pk__in=counts).values_list("pk", flat=True).iterator():
        row = {name: counts[image_id][name] for name in fields}
        Image.objects.filter(pk=image_id).update(**row, retired=row["completed_rounds"] >= plays)


class Migration(migrations.Migration):
    dependencies = [("game", "0009_source_name_without_server_folders")]

    operations = [migrations.RunPython(recount_images, migrations.RunPython.noop)]
