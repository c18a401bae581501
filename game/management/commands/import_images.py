"""python manage.py import_images PATH [--labels FILE [--synsets FILE]]: an ImageNet-style folder, a CSV
manifest, or a flat folder with its label file (the devkit's formats, game/imagenet_labels.py)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from game.imagenet_labels import LabelError
from game.importing import SPLITS, items_import, items_of
from game.management.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Import images from an ImageNet-style folder (PATH/<category>/<file>), a CSV manifest "
        "(path,category[,split]), or a flat folder PATH/<file> with --labels FILE."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--split", default="train", choices=sorted(SPLITS), help="split of a folder's images")
        parser.add_argument(
            "--labels",
            help="the labels of a flat folder's images: one a line in sorted file order (wnids, or class indexes "
            "of --synsets; ILSVRC2012_validation_ground_truth.txt) or an ImageId,PredictionString CSV "
            "(LOC_val_solution.csv); every label is checked before anything is imported",
        )
        parser.add_argument(
            "--synsets",
            help="the synset list that class indexes refer to and categories are named from: "
            "LOC_synset_mapping.txt ('wnid description' a line, indexes in line order from 1) or the "
            "devkit's data/meta.mat (indexes are ILSVRC2012_IDs)",
        )

    def handle(self, *args, path, split, labels, synsets, **options):
        source = Path(path)
        if not source.exists():
            raise CommandError(f"{source} does not exist")
        if source.is_file() and source.suffix.lower() != ".csv":
            raise CommandError(f"{source} is neither a folder nor a .csv manifest")
        if source.is_file() and (labels or synsets):
            raise CommandError("--labels and --synsets go with a folder; a manifest names its own categories")
        try:
            items = items_of(source, split=split, labels=labels, synsets=synsets)
        except LabelError as error:
            raise CommandError(f"{error}\nNothing was imported.") from error
        total: int | None = None  # a folder's count is not known ahead
        if isinstance(items, list):
            total = len(items)
        elif source.is_file():  # rows of a manifest (header included: one too many at worst)
            total = sum(1 for _line in source.open()) - 1
        with progress_bar(total=total, desc="importing images") as bar:
            report = items_import(
                items, size_px=settings.CLICKME["IMAGE_SIZE_PX"], on_progress=lambda _report: bar.update()
            )
        for name, reason in report.failed:
            self.stderr.write(f"skipped {name}: {reason}")
        self.stdout.write(
            f"imported {report.imported} images, skipped {report.duplicates} duplicates, "
            f"{len(report.failed)} unreadable"
        )
