"""python manage.py import_maps FILE: reads an .npz of the export format back in."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.services import maps_import


class Command(BaseCommand):
    help = "Import ClickMe maps from an .npz with maps (N, H, W), image_ids and n_players (the export format)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        if not Path(file).is_file():
            raise CommandError(f"{file} does not exist")
        try:
            imported, unknown = maps_import(path=file)
        except (ValueError, KeyError, OSError) as error:
            raise CommandError(f"not imported: {error}") from error
        if unknown:
            self.stderr.write(f"skipped {len(unknown)} maps of unknown images: {unknown[:10]}")
        self.stdout.write(f"imported {imported} maps")
