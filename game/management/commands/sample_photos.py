"""python manage.py sample_photos DIR: real photographs from installed packages as DIR/<wnid>/<name>.png."""

from django.core.management.base import BaseCommand, CommandError

from game.sample_photos import PHOTOS, sample_photos_write


class Command(BaseCommand):
    help = (
        "Write the real photographs that ship with scikit-image and matplotlib (a tabby cat, a cup of "
        "coffee, ...) as an ImageNet-style folder of wnid-named folders, for import_images or IMAGES=DIR make run."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder")

    def handle(self, *args, folder, **options):
        try:
            paths = sample_photos_write(folder)
        except ImportError as error:
            raise CommandError(f"{error}: pip install -r requirements.txt (scikit-image)") from error
        for path in paths:
            name = path.stem
            self.stdout.write(f"{path}  ({PHOTOS[name][1]}, from {PHOTOS[name][2]})")
