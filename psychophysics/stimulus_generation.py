"""Generating an experiment's stimuli and masks (a worker task): deterministic and idempotent.

Every stimulus is content-addressed (`psychophysics/<experiment>/<sha256>.png`); the rows are
replaced in one transaction after all files are written, and only while nobody has joined. The
fingerprint covers every input (recipe, seed, sources, levels, images and their ClickMe maps), so
a second run with the same inputs changes nothing.
"""

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from annotations.map_encoding import npy_array
from annotations.models import ClickMap
from clickme_site.errors import Conflict
from game.models import Image

from . import design, queueing, stimuli
from .experiments import design_frozen
from .files import stimuli_dir, stored_name, stored_path
from .models import Experiment, NoiseMask, Stimulus
from .stimulus_inputs import N_MASKS, cells_of, stimuli_fingerprint

log = logging.getLogger(__name__)
SOURCE_INDEX = {source: index for index, source in enumerate(design.SOURCES)}
SALIENCY_FINGERPRINT = "spectral-residual/opponent"


def stimuli_request(*, experiment: Experiment) -> Experiment:
    """Queue the generation of the experiment's stimuli after commit. Conflict once anyone has joined."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if design_frozen(experiment):
            raise Conflict("participants have joined: the stimuli are frozen", "stimuli_frozen")
        experiment.stimuli_state = Experiment.StimuliState.QUEUED
        experiment.stimuli_error = ""
        experiment.save(update_fields=["stimuli_state", "stimuli_error"])
        queueing.stimuli_generate_queue(experiment_id=experiment.pk)
    return experiment


def _image_pixels(image: Image) -> np.ndarray:
    with image.file.open("rb") as handle, PILImage.open(handle) as pil:
        return np.asarray(pil.convert("RGB"), dtype=np.uint8)


def _write_once(directory: Path, data: bytes) -> tuple[str, str]:
    """Write `data` as <sha256>.png (atomically, once); (stored name under PRIVATE_ROOT, sha256)."""
    sha = hashlib.sha256(data).hexdigest()
    path = directory / f"{sha}.png"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    return stored_name(path), sha


def _render(experiment: Experiment, directory: Path):
    """Render every cell; (stimulus rows, mask rows) as dicts, or ValueError saying what is missing."""
    cells = cells_of(experiment)
    image_ids = sorted({cell[0] for cell in cells})
    images = {image.pk: image for image in Image.objects.filter(pk__in=image_ids)}
    feature_maps: dict[tuple[int, str], tuple[np.ndarray, str]] = {}
    if "clickme" in experiment.feature_sources:
        rows = ClickMap.objects.filter(image_id__in=image_ids).values_list("image_id", "data", "fingerprint")
        for image_id, data, fingerprint in rows:
            feature_maps[(image_id, "clickme")] = (npy_array(data), fingerprint)
        missing = [i for i in image_ids if (i, "clickme") not in feature_maps]
        if missing:
            raise ValueError(f"{len(missing)} images have no ClickMe map yet: ids {missing[:20]}")
    stimulus_rows = []
    for image_id in image_ids:
        pixels = _image_pixels(images[image_id])
        if "saliency" in experiment.feature_sources:
            feature_maps[(image_id, "saliency")] = (stimuli.saliency_map(pixels), SALIENCY_FINGERPRINT)
        orders = {}
        for _image, source, level in (c for c in cells if c[0] == image_id):
            the_map, fingerprint = feature_maps[(image_id, source)]
            if the_map.shape != pixels.shape[:2]:
                raise ValueError(f"image {image_id}: map {the_map.shape} and image {pixels.shape[:2]} differ in size")
            if source not in orders:  # one ranking per image and source serves every level
                orders[source] = stimuli.reveal_order(the_map, seed=(experiment.seed, image_id, SOURCE_INDEX[source]))
            png = stimuli.png_bytes(stimuli.reveal_by_order(pixels, orders[source], level))
            path, sha = _write_once(directory, png)
            stimulus_rows.append(
                {"image_id": image_id, "source": source, "level_pct": level, "file": path, "sha256": sha,
                 "map_fingerprint": fingerprint}
            )  # fmt: skip
    size = max((image.height for image in images.values()), default=256)
    mask_rows = []
    for index in range(N_MASKS):
        path, sha = _write_once(directory, stimuli.png_bytes(stimuli.noise_mask((experiment.seed, 7919, index), size)))
        mask_rows.append({"index": index, "file": path, "sha256": sha})
    return stimulus_rows, mask_rows


def _fail(experiment_id: int, message: str) -> None:
    Experiment.objects.filter(pk=experiment_id).update(
        stimuli_state=Experiment.StimuliState.FAILED, stimuli_error=message[:2000]
    )


def stimuli_generate(*, experiment_id: int) -> Experiment | None:
    """Build and store the experiment's stimuli; a no-op when they are built from the same inputs.
    Renders outside any lock, then replaces the rows under the experiment's row lock if the inputs
    are unchanged and nobody has joined meanwhile."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        return None
    fingerprint = stimuli_fingerprint(experiment)
    directory = stimuli_dir(experiment.pk)
    if design_frozen(experiment):
        if experiment.stimuli_state != Experiment.StimuliState.READY:
            _fail(experiment_id, "participants have joined: the stimuli are frozen")
        return experiment
    stored = list(experiment.stimuli.values_list("file", flat=True))
    if (
        experiment.stimuli_fingerprint == fingerprint
        and len(stored) == len(cells_of(experiment))
        and all(stored_path(f).exists() for f in stored)
    ):  # built from the same inputs already: a second delivery of the task changes nothing
        if experiment.stimuli_state != Experiment.StimuliState.READY:
            Experiment.objects.filter(pk=experiment_id).update(
                stimuli_state=Experiment.StimuliState.READY, stimuli_error=""
            )
        return Experiment.objects.get(pk=experiment_id)
    Experiment.objects.filter(pk=experiment_id).update(stimuli_state=Experiment.StimuliState.RUNNING)
    try:
        design.validate_sources(experiment.feature_sources)
        design.validate_levels(experiment.reveal_levels)
        directory.mkdir(parents=True, exist_ok=True)
        stimulus_rows, mask_rows = _render(experiment, directory)
    except (ValueError, OSError) as error:
        log.warning("stimuli of experiment %s failed: %s", experiment_id, error)
        _fail(experiment_id, f"{type(error).__name__}: {error}")
        return Experiment.objects.get(pk=experiment_id)
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if design_frozen(experiment):
            _fail(experiment_id, "participants joined while the stimuli were built: the stored ones stay")
            return experiment
        if stimuli_fingerprint(experiment) != fingerprint:
            _fail(experiment_id, "the experiment or its maps changed while the stimuli were built: generate again")
            return experiment
        keep = set()
        for row in stimulus_rows:
            stimulus, _ = Stimulus.objects.update_or_create(
                experiment=experiment,
                image_id=row["image_id"],
                source=row["source"],
                level_pct=row["level_pct"],
                defaults={k: row[k] for k in ("file", "sha256", "map_fingerprint")},
            )
            keep.add(stimulus.pk)
        experiment.stimuli.exclude(pk__in=keep).delete()
        for row in mask_rows:
            NoiseMask.objects.update_or_create(
                experiment=experiment, index=row["index"], defaults={"file": row["file"], "sha256": row["sha256"]}
            )
        experiment.masks.filter(index__gte=N_MASKS).delete()
        experiment.stimuli_state = Experiment.StimuliState.READY
        experiment.stimuli_fingerprint = fingerprint
        experiment.stimuli_error = ""
        experiment.stimuli_built_at = timezone.now()
        experiment.save(update_fields=["stimuli_state", "stimuli_fingerprint", "stimuli_error", "stimuli_built_at"])
        used = {row["file"] for row in stimulus_rows} | {row["file"] for row in mask_rows}
        transaction.on_commit(lambda: _remove_unused_files(directory, used))
    return experiment


def _remove_unused_files(directory: Path, used: set[str]) -> None:
    for path in directory.glob("*.png"):
        if stored_name(path) not in used:
            path.unlink(missing_ok=True)
