"""What an experiment's stimuli are built from (reads): their cells and the fingerprint of their inputs,
which says whether stored stimuli are still current."""

import hashlib

from annotations.models import ClickMap
from game.models import Image

from . import design, stimuli
from .models import Experiment

N_MASKS = 8  # noise masks drawn per experiment


def cells_of(experiment: Experiment) -> list[tuple[int, str, int]]:
    """(image id, source, level) of every stimulus: main images at every level, practice at the easy ones."""
    sources, levels = experiment.feature_sources, sorted(experiment.reveal_levels)
    main = sorted(experiment.images.values_list("id", flat=True))
    practice = sorted(experiment.practice_images.values_list("id", flat=True))
    cells = [(i, s, v) for i in main for s in sources for v in levels]
    cells += [(i, s, v) for i in practice for s in sources for v in design.practice_levels(levels)]
    return cells


def _map_fingerprints(image_ids: list[int]) -> dict[int, str]:
    return dict(ClickMap.objects.filter(image_id__in=image_ids).values_list("image_id", "fingerprint"))


def stimuli_fingerprint(experiment: Experiment) -> str:
    cells = cells_of(experiment)
    image_ids = sorted({cell[0] for cell in cells})
    shas = dict(Image.objects.filter(pk__in=image_ids).values_list("id", "sha256"))
    maps = _map_fingerprints(image_ids) if "clickme" in experiment.feature_sources else {}
    digest = hashlib.sha256(f"{stimuli.RECIPE};seed={experiment.seed};masks={N_MASKS};".encode())
    for image_id, source, level in cells:
        digest.update(f"{image_id}:{shas.get(image_id)}:{source}:{level}:{maps.get(image_id, '')};".encode())
    return digest.hexdigest()
