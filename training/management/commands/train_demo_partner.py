"""python manage.py train_demo_partner: trains the small demo partner on the benchmark and registers it."""

import json

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from PIL import Image as PILImage

from clickme_site.private_files import private_path
from game.images import as_float_array
from game.models import Category, Image, Partner
from game.partner_registry import partner_register
from training.demo_partner import MEAN, STD, DemoConfig, evaluate, train_demo_partner
from training.partner_export import partner_export


def _load(images):
    arrays, masks = [], []
    for image in images:
        with image.file.open("rb") as handle, PILImage.open(handle) as pil:
            arrays.append(as_float_array(pil))
        if image.mask:
            with image.mask.open("rb") as handle, PILImage.open(handle) as pil:
                masks.append(np.asarray(pil.convert("L")) >= 128)
        else:
            masks.append(np.ones((image.height, image.width), dtype=bool))
    return arrays, masks


class Command(BaseCommand):
    help = "Train the small demo partner on the train split, evaluate it on val, export and register it."

    def add_arguments(self, parser):
        parser.add_argument("--if-none", action="store_true", help="do nothing when a partner is registered")
        parser.add_argument("--epochs", type=int, default=DemoConfig.epochs)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--time-budget", type=float, default=DemoConfig.time_budget_s, help="seconds")

    def handle(self, *args, if_none, epochs, seed, time_budget, **options):
        if if_none and Partner.objects.exists():
            self.stdout.write("a partner is registered already; not training")
            return
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        categories = list(Category.objects.filter(images__split="train").distinct().order_by("id"))
        if len(categories) < 2:
            raise CommandError("need training images of at least two categories (run import_images first)")
        label_of = {category.id: index for index, category in enumerate(categories)}
        train = list(Image.objects.filter(split="train", category__in=categories).order_by("id"))
        val = list(Image.objects.filter(split="val", category__in=categories).order_by("id"))
        config = DemoConfig(
            epochs=epochs,
            seed=seed,
            time_budget_s=time_budget,
            bubble_px=settings.CLICKME["PARTNER_BUBBLE_PX"],
            noise_std=settings.CLICKME["NOISE_STD"],
        )
        self.stdout.write(f"training the demo partner on {len(train)} images of {len(categories)} categories")
        images, masks = _load(train)
        model = train_demo_partner(
            images, masks, [label_of[i.category_id] for i in train], len(categories), config, log=self.stdout.write
        )
        metrics = {}
        if val:
            v_images, v_masks = _load(val)
            v_labels = [label_of[i.category_id] for i in val]
            metrics = {
                "val_full": evaluate(model, v_images, v_masks, v_labels, config),
                "val_half_revealed": evaluate(model, v_images, v_masks, v_labels, config, n_clicks=70),
                "val_quarter_revealed": evaluate(model, v_images, v_masks, v_labels, config, n_clicks=35),
                "n_val": len(val),
            }
            self.stdout.write("validation accuracy: " + json.dumps(metrics))
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = partner_export(
            model,
            private_path("partners", f"demo-{stamp}.pt2"),
            categories=[{"wnid": c.wnid, "name": c.name} for c in categories],
            input_size=config.input_size,
            mean=MEAN,
            std=STD,
            architecture="small_cnn",
            metrics=metrics,
        )
        partner = partner_register(name=f"demo-small-cnn-{stamp}", weights_path=path, activate=True)
        self.stdout.write(f"registered and activated partner {partner.name} ({path})")
