"""Data: a random tie-breaking key per image, and each image's round counts recomputed from its
stored rounds under the new rule (only map-eligible rounds retire an image; abandoned and skipped
rounds are counted apart). Images that abandoned 0-click rounds had retired come back into play."""

import random

from django.conf import settings
from django.db import migrations
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce


def randomise_keys(apps, schema_editor):
    Image = apps.get_model("game", "Image")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE game_image SET random_key = random()")
        return
    ids = list(Image.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        chunk = [Image(pk=pk, random_key=random.random()) for pk in ids[start : start + 2000]]
        Image.objects.bulk_update(chunk, ["random_key"])


def recount(apps, schema_editor):
    Image = apps.get_model("game", "Image")
    Round = apps.get_model("game", "Round")
    min_clicks = settings.CLICKME.get("MIN_CLICKS", 1)
    plays = settings.CLICKME["PLAYS_PER_IMAGE"]
    completed = Q(state__in=("won", "expired"))
    enough = completed & Q(n_clicks__gte=min_clicks)
    excluded = Q(flagged=True) | Q(player__banned_at__isnull=False)
    kinds = {
        "completed_rounds": enough & ~excluded,
        "n_abandoned": completed & Q(n_clicks__lt=min_clicks),
        "n_flagged": enough & excluded,
        "n_skipped": Q(state="skipped"),
    }

    def count_of(condition):
        rows = (
            Round.objects.filter(condition, image_id=OuterRef("pk"))
            .order_by()
            .values("image_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    Image.objects.update(**{field: count_of(condition) for field, condition in kinds.items()})
    Image.objects.update(retired=False)
    Image.objects.filter(completed_rounds__gte=plays).update(retired=True)


class Migration(migrations.Migration):
    dependencies = [("game", "0003_round_quality_bans_image_counts")]

    operations = [
        migrations.RunPython(randomise_keys, migrations.RunPython.noop),
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
