"""python manage.py import_images PATH: an ImageNet-style folder or a CSV manifest."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from game.importing import SPLITS, images_import
from game.management.progress import progress_bar


class Command(BaseCommand):
    help = "Import images from an ImageNet-style folder (PATH/<category>/<file>) or a CSV manifest (path,category[,split])."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--split", default="train", choices=sorted(SPLITS), help="split of a folder's images")

    def handle(self, *args, path, split, **options):
        source = Path(path)
        if not source.exists():
            raise CommandError(f"{source} does not exist")
        if source.is_file() and source.suffix.lower() != ".csv":
            raise CommandError(f"{source} is neither a folder nor a .csv manifest")
        # rows of a manifest (header included: one too many at worst); a folder's count is not known ahead
        total = sum(1 for _line in source.open()) - 1 if source.is_file() else None
        with progress_bar(total=total, desc="importing images") as bar:
            report = images_import(
                source, split=split, size_px=settings.CLICKME["IMAGE_SIZE_PX"], on_progress=lambda _report: bar.update()
            )
        for name, reason in report.failed:
            self.stderr.write(f"skipped {name}: {reason}")
        self.stdout.write(
            f"imported {report.imported} images, skipped {report.duplicates} duplicates, "
            f"{len(report.failed)} unreadable"
        )
