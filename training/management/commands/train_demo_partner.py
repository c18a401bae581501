"""python manage.py train_demo_partner: trains the demo partner on the benchmark, measures the game's
targets on the validation images (issue 8 item 3), and registers it."""

import json
import math
import time

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from PIL import Image as PILImage

from clickme_site.errors import Conflict
from clickme_site.private_files import private_path
from game.models import Category, Image, Partner
from game.partner_registry import partner_register
from game.synthetic_benchmark import category_codes
from game.validity import GameRules, RoundImage, validity_report
from game.win_rule import win_top_k
from training.demo_partner import ARCHITECTURE, MEAN, STD, DemoConfig, predictor, target_lines, train_demo_partner
from training.partner_export import partner_export


def _load(images):
    arrays, masks = [], []
    for image in images:
        with image.file.open("rb") as handle, PILImage.open(handle) as pil:
            arrays.append(np.asarray(pil.convert("RGB")))
        if image.mask:
            with image.mask.open("rb") as handle, PILImage.open(handle) as pil:
                masks.append(np.asarray(pil.convert("L")) >= 128)
        else:
            masks.append(np.ones((image.height, image.width), dtype=bool))
    return arrays, masks


class Command(BaseCommand):
    help = (
        "Train the demo partner on the train split, measure the game's targets (zero-click, careless and "
        "careful win rates) on the val split, export and register it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-none", action="store_true", help="do nothing when a partner is registered")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--time-budget", type=float, default=DemoConfig.time_budget_s, help="seconds of training")
        parser.add_argument(
            "--steps",
            type=int,
            default=None,
            help="train for this many steps instead (the same partner on any machine)",
        )
        parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
        parser.add_argument("--eval-images", type=int, default=256, help="val images played for the targets")
        parser.add_argument(
            "--eval-rounds", type=int, default=256, help="rounds of each kind at least (images replayed with new noise)"
        )

    def handle(self, *args, if_none, seed, time_budget, steps, threads, eval_images, eval_rounds, **options):
        if if_none and Partner.objects.exists():
            self.stdout.write("a partner is registered already; not training")
            return
        import torch

        if threads:
            torch.set_num_threads(threads)
        categories = list(Category.objects.filter(images__split="train").distinct().order_by("id"))
        if len(categories) < 2:
            raise CommandError("need training images of at least two categories (run import_images first)")
        label_of = {category.id: index for index, category in enumerate(categories)}
        train = list(Image.objects.filter(split="train", category__in=categories).order_by("id"))
        val = list(Image.objects.filter(split="val", category__in=categories).order_by("id"))
        rules = GameRules.from_settings(settings.CLICKME)
        config = DemoConfig(
            seed=seed,
            time_budget_s=time_budget,
            steps=steps,
            bubble_px=rules.partner_bubble_px,
            noise_std=rules.noise_std,
            crop_px=rules.partner_crop_px,
        )
        codes = category_codes([category.wnid for category in categories])
        self.stdout.write(
            f"training the demo partner on {len(train)} images of {len(categories)} categories"
            + (" (the benchmark's categories: scored through their part codes)" if codes else "")
        )
        images, masks = _load(train)
        started = time.monotonic()
        model = train_demo_partner(
            images,
            masks,
            [label_of[i.category_id] for i in train],
            len(categories),
            config,
            log=self.stdout.write,
            codes=codes,
        )
        metrics = {"training_s": round(time.monotonic() - started, 1), "n_train": len(train)}
        if val:
            chosen = val
            if len(val) > eval_images:
                keep = np.random.default_rng(seed).choice(len(val), eval_images, replace=False)
                chosen = [val[k] for k in sorted(keep)]
            v_images, v_masks = _load(chosen)
            items = [
                RoundImage(image.astype(np.float32) / 255, (label_of[row.category_id],), mask, row.source_name)
                for image, mask, row in zip(v_images, v_masks, chosen, strict=True)
            ]
            n_outputs = len(categories)
            report = validity_report(
                predictor(model, config),
                items,
                n_outputs=n_outputs,
                top_k=win_top_k(n_outputs, settings.CLICKME.get("WIN_TOP_K")),
                rules=rules,
                rounds_per_image=max(1, math.ceil(eval_rounds / len(items))),
                seed=seed,
            )
            metrics["val_validity"] = report.as_dict()
            self.stdout.write(
                f"the game's targets on {len(items)} val images x {report.rounds_per_image} rounds (issue 8 item 3):"
            )
            for line in target_lines(report, metrics["training_s"]):
                self.stdout.write("  " + line)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = partner_export(
            model,
            private_path("partners", f"demo-{stamp}.pt2"),
            categories=[{"wnid": c.wnid, "name": c.name} for c in categories],
            input_size=config.input_size,
            mean=MEAN,
            std=STD,
            architecture=ARCHITECTURE,
            metrics=metrics,
        )
        try:
            partner = partner_register(name=f"demo-{ARCHITECTURE}-{stamp}", weights_path=path, activate=True)
        except Conflict as refusal:  # registered, but the validity rule keeps it out of the game
            raise CommandError(f"the demo partner is registered but not activated: {refusal}") from refusal
        self.stdout.write(f"registered and activated partner {partner.name} ({path})")
        self.stdout.write(json.dumps(metrics.get("val_validity", {})))
