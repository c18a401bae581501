"""python manage.py setup_game [--images DIR [--labels FILE] [--synsets FILE] [--force-partner]]: what
`make run` needs before serving.

Without --images: the synthetic benchmark (generated and imported when no image is stored) and the
shipped demo partner (`install_demo_partner`: checked on the active images, activated only when it
meets the game's targets) when the game has no partner that knows every category in play. With
--images DIR (`IMAGES=DIR make run`): the ImageNet-style folder DIR/<wnid>/<file>, or with --labels
FILE (`IMAGES_LABELS=FILE`) the flat folder DIR/<file> labelled by FILE in ImageNet's formats
(game/imagenet_labels.py; every label checked before anything is imported), is imported, its
categories become the ones in play (images of other categories are set inactive, not deleted), and
the pretrained EfficientNet-Lite0 from the installed weights package is registered again every time
(its outputs mapped to the categories now in play, its validity report computed on them) and made the
partner, unless the report refuses it: then nothing is activated and the command fails, saying why,
unless --force-partner.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from game.imagenet_labels import LabelError
from game.importing import category_for, items_import, items_of
from game.models import Image, Partner

PRETRAINED_PARTNER = "efficientnet_lite0"


def categories_unknown_to(partner):
    """Names of the categories of active images that `partner` has no output for (all when None)."""
    known = {category_id for category_id, _label in partner.category_mapping if category_id} if partner else set()
    return sorted(
        Image.objects.filter(active=True)
        .exclude(category__in=known)
        .values_list("category__name", flat=True)
        .distinct()
    )


class Command(BaseCommand):
    help = (
        "Prepare the game: the synthetic benchmark and the demo partner, or with --images DIR real "
        "photographs (DIR/<wnid>/<file>) against the pretrained EfficientNet-Lite0."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--images", help="an ImageNet-style folder of wnid-named folders (or, with --labels, a flat one)"
        )
        parser.add_argument(
            "--labels",
            help="the label file of a flat --images folder: one label a line in sorted file order "
            "(ILSVRC2012_validation_ground_truth.txt, or wnids) or LOC_val_solution.csv (IMAGES_LABELS=)",
        )
        parser.add_argument(
            "--synsets",
            help="LOC_synset_mapping.txt or the devkit's data/meta.mat: what class indexes of --labels refer "
            "to, and the categories' names (IMAGES_SYNSETS=)",
        )
        parser.add_argument(
            "--force-partner", action="store_true", help="activate the pretrained partner even if its report refuses it"
        )
        parser.add_argument("--benchmark-dir", default=str(settings.VAR_DIR / "benchmark"))
        parser.add_argument(
            "--per-category", type=int, default=40, help="scenes per category of a newly written benchmark (default 40)"
        )

    def handle(self, *args, images, labels, synsets, force_partner, benchmark_dir, per_category, **options):
        if (labels or synsets) and not images:
            raise CommandError(
                "--labels and --synsets (IMAGES_LABELS, IMAGES_SYNSETS) go with --images DIR (IMAGES=DIR)"
            )
        if images:
            self._real_photographs(Path(images), force_partner, labels, synsets)
        else:
            self._synthetic(Path(benchmark_dir), per_category)

    def _synthetic(self, folder, per_category):
        if not Image.objects.exists():
            manifest = folder / "manifest.csv"
            if not manifest.is_file():
                self.stdout.write(f"generating the synthetic benchmark in {folder}")
                call_command(
                    "generate_benchmark", "--out", str(folder), "--per-category", str(per_category), stdout=self.stdout
                )
            call_command("import_images", str(manifest), stdout=self.stdout, stderr=self.stderr)
        active = Partner.objects.filter(is_active=True).first()
        unknown = categories_unknown_to(active)
        if active is not None and not unknown:
            self.stdout.write(f"partner {active.name} is the game's partner and knows every category in play")
            return
        if active is not None:
            self.stdout.write(
                f"partner {active.name} does not know {len(unknown)} categories in play "
                f"({', '.join(unknown[:5])}{'...' if len(unknown) > 5 else ''}): installing the shipped demo partner"
            )
        call_command("install_demo_partner", stdout=self.stdout, stderr=self.stderr)

    def _real_photographs(self, folder, force, labels, synsets):
        expected = "expected DIR/<wnid>/<image files>, or a flat DIR/<image files> with IMAGES_LABELS=FILE"
        if not folder.is_dir():
            raise CommandError(f"IMAGES={folder} is not a folder ({expected})")
        folders = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not labels and not folders:
            raise CommandError(f"{folder} has no category folders ({expected})")
        try:
            items = items_of(folder, labels=labels, synsets=synsets)
        except LabelError as error:
            raise CommandError(f"{error}\nNothing was imported.") from error
        report = items_import(items, size_px=settings.CLICKME["IMAGE_SIZE_PX"])
        for name, reason in report.failed:
            self.stderr.write(f"skipped {name}: {reason}")
        self.stdout.write(
            f"imported {report.imported} images from {folder} ({report.duplicates} already there, "
            f"{len(report.failed)} unreadable)"
        )
        if labels:  # the categories its labels name (a labelled folder's items are a checked list)
            in_play = list({category_for(item.category, item.wnid).pk for item in items})
        else:
            in_play = [category_for(name).pk for name in folders]
        if not Image.objects.filter(category__in=in_play).exists():
            raise CommandError(f"no image of {folder} could be imported")
        set_aside = Image.objects.filter(active=True).exclude(category__in=in_play).update(active=False)
        Image.objects.filter(category__in=in_play, active=False).update(active=True)
        if set_aside:
            self.stdout.write(f"{set_aside} images of other categories set inactive (the admin can reactivate them)")
        # registered again every time: its outputs are mapped to the categories now in play and its
        # validity report is computed on their images (a partner checked on other photographs says nothing)
        arguments = ["register_partner", "--pretrained", PRETRAINED_PARTNER, "--activate"]
        try:
            call_command(*arguments, *(["--force"] if force else []), stdout=self.stdout, stderr=self.stderr)
        except CommandError as error:
            raise CommandError(
                f"{error}\nThe pretrained partner recognises these images without paint, so the game could not be "
                "lost on them; use other photographs, or FORCE_PARTNER=1 (setup_game --force-partner) to play anyway."
            ) from error
