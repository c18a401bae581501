"""python manage.py generate_benchmark: writes the synthetic benchmark (docs/SCIENCE.md section 7) to a folder."""

from django.core.management.base import BaseCommand

from game.management.progress import progress_bar
from game.synthetic_benchmark import CATEGORIES, write_benchmark


class Command(BaseCommand):
    help = "Write the synthetic benchmark's images, masks and manifest.csv (then: import_images OUT/manifest.csv)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="var/benchmark")
        parser.add_argument("--per-category", type=int, default=40)
        parser.add_argument("--categories", type=int, default=len(CATEGORIES), choices=range(2, len(CATEGORIES) + 1))
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, out, per_category, categories, seed, **options):
        with progress_bar(total=per_category * categories, desc="writing the benchmark") as bar:
            manifest = write_benchmark(
                out, n_per_category=per_category, seed=seed, n_categories=categories, on_image=bar.update
            )
        self.stdout.write(str(manifest))
