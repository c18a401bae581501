"""python manage.py setup_game [--images DIR [--force-partner]]: what `make run` needs before serving.

Without --images: the synthetic benchmark (generated and imported when no image is stored) and the
demo partner (trained when no partner is registered). With --images DIR (`IMAGES=DIR make run`): the
ImageNet-style folder DIR/<wnid>/<file> is imported, its categories become the ones in play (images
of other categories are set inactive, not deleted), and the pretrained EfficientNet-Lite0 from the
installed weights package is registered and made the partner, unless its validity report refuses it
(CLICKME_MAX_ZERO_CLICK_WIN): then nothing is activated and the command fails, saying why, unless
--force-partner.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from game.importing import category_for, images_import
from game.models import Image, Partner

PRETRAINED_PARTNER = "efficientnet_lite0"


class Command(BaseCommand):
    help = (
        "Prepare the game: the synthetic benchmark and the demo partner, or with --images DIR real "
        "photographs (DIR/<wnid>/<file>) against the pretrained EfficientNet-Lite0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--images", help="an ImageNet-style folder of wnid-named folders")
        parser.add_argument(
            "--force-partner", action="store_true", help="activate the pretrained partner even if its report refuses it"
        )
        parser.add_argument("--benchmark-dir", default=str(settings.VAR_DIR / "benchmark"))

    def handle(self, *args, images, force_partner, benchmark_dir, **options):
        if images:
            self._real_photographs(Path(images), force_partner)
        else:
            self._synthetic(Path(benchmark_dir))

    def _synthetic(self, folder):
        if not Image.objects.exists():
            manifest = folder / "manifest.csv"
            if not manifest.is_file():
                self.stdout.write(f"generating the synthetic benchmark in {folder}")
                call_command("generate_benchmark", "--out", str(folder), stdout=self.stdout)
            call_command("import_images", str(manifest), stdout=self.stdout, stderr=self.stderr)
        self.stdout.write("checking for a partner (trains the demo partner when none is registered: a few minutes)")
        call_command("train_demo_partner", "--if-none", stdout=self.stdout, stderr=self.stderr)

    def _real_photographs(self, folder, force):
        if not folder.is_dir():
            raise CommandError(f"IMAGES={folder} is not a folder (expected DIR/<wnid>/<image files>)")
        folders = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not folders:
            raise CommandError(f"{folder} has no category folders (expected DIR/<wnid>/<image files>)")
        report = images_import(folder, size_px=settings.CLICKME["IMAGE_SIZE_PX"])
        for name, reason in report.failed:
            self.stderr.write(f"skipped {name}: {reason}")
        self.stdout.write(
            f"imported {report.imported} images from {folder} ({report.duplicates} already there, "
            f"{len(report.failed)} unreadable)"
        )
        in_play = [category_for(name).pk for name in folders]
        if not Image.objects.filter(category__in=in_play).exists():
            raise CommandError(f"no image of {folder} could be imported")
        set_aside = Image.objects.filter(active=True).exclude(category__in=in_play).update(active=False)
        Image.objects.filter(category__in=in_play, active=False).update(active=True)
        if set_aside:
            self.stdout.write(f"{set_aside} images of other categories set inactive (the admin can reactivate them)")
        partner = Partner.objects.filter(name=PRETRAINED_PARTNER).first()
        if partner is not None and partner.is_active:
            self.stdout.write(f"partner {partner.name} is already the game's partner")
            return
        arguments = ["register_partner", "--pretrained", PRETRAINED_PARTNER, "--activate"]
        try:
            call_command(*arguments, *(["--force"] if force else []), stdout=self.stdout, stderr=self.stderr)
        except CommandError as error:
            raise CommandError(
                f"{error}\nThe pretrained partner recognises these images without paint, so the game could not be "
                "lost on them; use other photographs, or FORCE_PARTNER=1 (setup_game --force-partner) to play anyway."
            ) from error
