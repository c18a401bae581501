"""python manage.py move_private_files: moves masks, exports, checkpoints, logs, curves and partner
artifacts that older versions wrote under MEDIA_ROOT to PRIVATE_ROOT, and repoints the partners' paths.
Idempotent: `make run` and the compose `migrate` service run it after every migrate."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from clickme_site.private_files import private_files_move
from game.models import Partner


class Command(BaseCommand):
    help = "Move private files from MEDIA_ROOT to PRIVATE_ROOT (idempotent)."

    def handle(self, *args, **options):
        media, private = Path(settings.MEDIA_ROOT).resolve(), Path(settings.PRIVATE_ROOT).resolve()
        moved = private_files_move(media, private)
        repointed = 0
        for partner in Partner.objects.all():
            path = Path(partner.weights_file)
            if path.is_absolute() and path.is_relative_to(media) and path.relative_to(media).parts[0] in moved:
                partner.weights_file = str(private / path.relative_to(media))
                partner.save(update_fields=["weights_file"])
                repointed += 1
        if any(moved.values()) or repointed:
            summary = ", ".join(f"{n} {folder}" for folder, n in moved.items() if n)
            self.stdout.write(f"moved to {private}: {summary or 'no files'}; {repointed} partner path(s) repointed")
