"""python manage.py train_demo_partner: trains the demo partner on the benchmark by steps, measures the
game's targets on the validation images, registers it, and makes it the game's partner only when it
meets them (game/promotion_rule.py targets_missed). `make run` installs the shipped one instead
(install_demo_partner), which this command with its defaults reproduces."""

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
from game.promotion_rule import targets_missed
from game.services import partner_activate
from game.synthetic_benchmark import category_codes
from game.validity import GameRules, RoundImage, validity_report
from game.win_rule import win_top_k
from training.demo_partner import (
    ARCHITECTURE,
    DEFAULT_STEPS,
    MEAN,
    STD,
    DemoConfig,
    predictor,
    target_lines,
    train_demo_partner,
)
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


def ship_manifest(path, *, seed, steps, threads, metrics):
    """The manifest of a shipped demo partner: its file and sha256, and what reproduces it."""
    import torch

    from .install_demo_partner import sha256_of

    command = f"python manage.py train_demo_partner --steps {steps} --seed {seed}"
    if threads:
        command += f" --threads {threads}"
    return {
        "file": path.name,
        "sha256": sha256_of(path),
        "command": command + " --ship",
        "data": "python manage.py generate_benchmark --out var/benchmark && python manage.py import_images "
        "var/benchmark/manifest.csv (the benchmark make run writes: 64 categories x 40, seed 0)",
        "seed": seed,
        "steps": steps,
        "threads": threads or None,
        "torch": torch.__version__,
        "training_s": metrics.get("training_s"),
        "val_validity": metrics.get("val_validity"),
    }


def activated(partner):
    """The partner made the game's partner through the promotion rule on the active images."""
    from game.partner_validity import promotion_check

    promotion_check(partner)
    return partner_activate(partner=partner)


class Command(BaseCommand):
    help = (
        "Train the demo partner on the train split, measure the game's targets (zero-click, careless and "
        "careful win rates) on the val split, export and register it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-none", action="store_true", help="do nothing when a partner is registered")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--steps",
            type=int,
            default=DEFAULT_STEPS,
            help=f"training steps (default {DEFAULT_STEPS}: the same partner on any machine, however busy)",
        )
        parser.add_argument(
            "--time-budget",
            type=float,
            default=None,
            help="train for this many seconds instead of --steps (experiments only: a busy machine trains less)",
        )
        parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
        parser.add_argument(
            "--ship",
            action="store_true",
            help="also write it as the shipped demo partner (training/artifacts/) with its manifest, when it meets its targets",
        )
        parser.add_argument("--eval-images", type=int, default=256, help="val images played for the targets")
        parser.add_argument(
            "--eval-rounds", type=int, default=256, help="rounds of each kind at least (images replayed with new noise)"
        )

    def handle(self, *args, if_none, seed, time_budget, steps, threads, eval_images, eval_rounds, ship, **options):
        if if_none and Partner.objects.filter(is_active=True).exists():
            self.stdout.write("the game has a partner already; not training")
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
            time_budget_s=time_budget or DemoConfig.time_budget_s,
            steps=None if time_budget else steps,
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
        partner = partner_register(name=f"demo-{ARCHITECTURE}-{stamp}", weights_path=path)
        self.stdout.write(json.dumps(metrics.get("val_validity", {})))
        missed = targets_missed(metrics.get("val_validity"))
        if missed:
            raise CommandError(
                f"the demo partner {partner.name} is registered but NOT the game's partner: it misses its targets on "
                "the val images:\n  " + "\n  ".join(missed) + "\nTrain longer (--steps) or on more images."
            )
        if ship:
            self._ship(path, seed=seed, steps=steps, threads=threads, metrics=metrics)
        try:
            partner = activated(partner)
        except Conflict as refusal:  # registered, but the validity rule keeps it out of the game
            raise CommandError(f"the demo partner is registered but not activated: {refusal}") from refusal
        self.stdout.write(f"registered and activated partner {partner.name} ({path})")

    def _ship(self, path, **facts):
        import shutil

        from .install_demo_partner import ARTIFACTS, MANIFEST

        ARTIFACTS.mkdir(exist_ok=True)
        shipped = ARTIFACTS / "demo_partner.pt2"
        shutil.copyfile(path, shipped)
        MANIFEST.write_text(json.dumps(ship_manifest(shipped, **facts), indent=2) + "\n")
        self.stdout.write(f"shipped as {shipped} (manifest {MANIFEST})")
