"""python manage.py benchmark_report: does bottom-up saliency find the benchmark's diagnostic part?

Prints the AUC of the spectral-residual saliency baseline against each image's diagnostic mask (target
at most 0.65) and, where the images have ClickMe maps, the maps' AUC beside it (target at least 0.85).
The images are the imported ones that have a mask (the synthetic benchmark after `import_images`), or
`--generate N` new scenes of the benchmark made in memory.
"""

import numpy as np
from django.core.management.base import BaseCommand
from PIL import Image as PILImage

from annotations.benchmark_report import (
    CLICKME_AUC_TARGET,
    SALIENCY_AUC_TARGET,
    map_aucs,
    saliency_aucs,
)
from annotations.map_encoding import npy_array
from annotations.models import ClickMap
from game.models import Image


def _rgb(field):
    with field.open("rb") as handle, PILImage.open(handle) as pil:
        return np.asarray(pil.convert("RGB"))


def _mask(field):
    with field.open("rb") as handle, PILImage.open(handle) as pil:
        return np.asarray(pil.convert("L")) >= 128


class Command(BaseCommand):
    help = "AUC of bottom-up saliency (and of ClickMe maps) against the benchmark's diagnostic masks."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=300, help="at most this many imported images")
        parser.add_argument("--generate", type=int, default=0, help="use N new scenes instead of imported images")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--mode", choices=["opponent", "intensity"], default="opponent")

    def handle(self, *args, limit, generate, seed, mode, **options):
        if generate:
            from game.synthetic_benchmark import CATEGORIES, scene

            rng = np.random.default_rng(seed)
            pairs = [scene(rng, k % len(CATEGORIES)) for k in range(generate)]
            maps = []
            source = f"{generate} generated scenes (seed {seed})"
        else:
            images = list(Image.objects.exclude(mask="").order_by("id")[:limit])
            pairs = [(_rgb(image.file), _mask(image.mask)) for image in images]
            masks = {image.pk: mask for image, (_rgb_, mask) in zip(images, pairs, strict=True)}
            maps = [
                (npy_array(row.data), masks[row.image_id])
                for row in ClickMap.objects.filter(image_id__in=list(masks)).order_by("image_id")
            ]
            source = f"{len(images)} imported images with a diagnostic mask"
        self.stdout.write(f"benchmark report: {source}")
        if not pairs:
            self.stdout.write("no images with a mask (run generate_benchmark and import_images, or use --generate)")
            return
        self.stdout.write(saliency_aucs(pairs, mode=mode).line(SALIENCY_AUC_TARGET, at_most=True))
        if maps:
            self.stdout.write(map_aucs(maps).line(CLICKME_AUC_TARGET, at_most=False))
        else:
            self.stdout.write("ClickMe maps                       none yet (maps are built from completed rounds)")
