"""Migration 0009: an image imported by an earlier version held the server's full path as its
source_name; after it, only the file's base name is left (names under an import's root are kept)."""

import importlib

from django.apps import apps

from game.models import Image
from tests.factories import ImageFactory

migration = importlib.import_module("game.migrations.0009_source_name_without_server_folders")


def test_server_paths_are_cut_to_the_file_name_and_relative_names_kept(db):
    for name in ("/srv/data/val/ILSVRC2012_val_00000001.JPEG", "n01440764/x.JPEG", ""):
        ImageFactory(source_name=name)
    migration.base_names(apps, None)
    stored = sorted(Image.objects.values_list("source_name", flat=True))
    assert stored == ["", "ILSVRC2012_val_00000001.JPEG", "n01440764/x.JPEG"]
