"""python manage.py recount_images: every image's round counts and retirement recomputed from its
stored rounds under the settings in force (after a change of CLICKME_MIN_CLICKS or CLICKME_PLAYS_PER_IMAGE)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from game.models import Image
from game.moderation import image_counts_refresh

CHUNK = 500


class Command(BaseCommand):
    help = "Recount every image's rounds (completed, abandoned, flagged, skipped) and retirement from its rounds."

    def handle(self, *args, **options):
        ids = list(Image.objects.order_by("pk").values_list("pk", flat=True))
        for begin in range(0, len(ids), CHUNK):
            with transaction.atomic():  # image_counts_refresh locks the chunk's image rows
                image_ids = ids[begin : begin + CHUNK]
                image_counts_refresh(image_ids)
        retired = Image.objects.filter(retired=True).count()
        self.stdout.write(f"recounted {len(ids)} images; {retired} retired")
