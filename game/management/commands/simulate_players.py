"""python manage.py simulate_players --players N --rounds M [--careless FRACTION]."""

import os
from functools import lru_cache

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from PIL import Image as PILImage

from game.models import Image
from game.simulation import players_simulate


@lru_cache(maxsize=4096)
def mask_for(image_id):
    """The ground-truth mask of a synthetic image (None for real images: those players aim anywhere)."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None or not image.mask:
        return None
    with image.mask.open("rb") as handle, PILImage.open(handle) as mask:
        return np.asarray(mask.convert("L")) >= 128


class Command(BaseCommand):
    help = "Simulated players play through the HTTP API of a running server, clicking mostly inside the masks."

    def add_arguments(self, parser):
        parser.add_argument("--players", type=int, required=True)
        parser.add_argument("--rounds", type=int, required=True)
        parser.add_argument("--careless", type=float, default=0.0, help="fraction of players who click anywhere")
        parser.add_argument("--base-url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, players, rounds, careless, base_url, seed, **options):
        if players < 1 or rounds < 1:
            raise CommandError("--players and --rounds must be at least 1")
        if not 0.0 <= careless <= 1.0:
            raise CommandError("--careless must be between 0 and 1")
        try:
            report = players_simulate(base_url, mask_for, players, rounds, careless, seed)
        except Exception as error:
            raise CommandError(f"simulation stopped: {error}") from error
        mean_score = float(np.mean(report.scores)) if report.scores else 0.0
        self.stdout.write(
            f"{players} players played {report.rounds} rounds: {report.won} won, mean score {mean_score:.1f}, "
            f"{report.clicks} clicks; {report.out_of_images} ran out of images"
        )
