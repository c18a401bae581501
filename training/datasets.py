"""Training samples: an image, its label and its ClickMe map (or none), with crops and flips applied
identically to image and map. Pure torch/numpy; the sources (database, .npz + folder) feed it."""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image as PILImage
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from game.partner import IMAGENET_MEAN, IMAGENET_STD

MEAN, STD = IMAGENET_MEAN, IMAGENET_STD  # torchvision's ImageNet normalisation (one definition: game.partner)
# The partner plays on the 224 px centre crop of the 256 px served image (docs/SCIENCE.md section 1), so
# it trains on that view too: every sample is first cut to this centre fraction of its image.
VIEW_FRACTION = 224 / 256


@dataclass
class Sample:
    image: object  # a path, or an (H, W, 3) uint8 array
    label: int
    clickmap: object = None  # an (H, W) float array, a zero-argument callable returning one, or None


def load_rgb(image):
    if isinstance(image, np.ndarray):
        return image
    with PILImage.open(image) as pil:
        return np.asarray(pil.convert("RGB"))


def view_box(height, width, fraction=VIEW_FRACTION):
    """(top, left, h, w) of the centre crop that the game shows the partner (224 of 256 px)."""
    h, w = int(round(height * fraction)), int(round(width * fraction))
    return (height - h) // 2, (width - w) // 2, h, w


class ClickMeDataset(Dataset):
    """Yields (image (3, S, S) normalised, label, map (S, S) in [0, 1], has_map), made from the
    partner's view of the image (its centre `view_fraction`, 224 of 256 px), as the game shows it."""

    def __init__(self, samples, image_size, augment, crop_scale=(0.7, 1.0), view_fraction=VIEW_FRACTION, flip=True):
        self.samples = list(samples)
        self.image_size = image_size
        self.augment = augment
        self.crop_scale = crop_scale
        self.view_fraction = view_fraction
        self.flip = flip  # off where a mirror image is another category (the synthetic benchmark's badges)

    def __len__(self):
        return len(self.samples)

    def _crop_box(self, height, width, generator):
        area = height * width
        for _ in range(10):
            scale = self.crop_scale[0] + (self.crop_scale[1] - self.crop_scale[0]) * float(
                torch.rand(1, generator=generator)
            )
            ratio = math.exp(
                math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * float(torch.rand(1, generator=generator))
            )
            w = int(round(math.sqrt(area * scale * ratio)))
            h = int(round(math.sqrt(area * scale / ratio)))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, (1,), generator=generator))
                left = int(torch.randint(0, width - w + 1, (1,), generator=generator))
                return top, left, h, w
        return 0, 0, height, width

    def __getitem__(self, index):
        sample = self.samples[index]
        image = torch.from_numpy(np.array(load_rgb(sample.image), dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
        raw_map = sample.clickmap() if callable(sample.clickmap) else sample.clickmap
        has_map = raw_map is not None and float(np.max(raw_map)) > 0
        the_map = torch.from_numpy(np.asarray(raw_map, dtype=np.float32)) if has_map else torch.zeros(image.shape[1:])
        if has_map and the_map.shape != image.shape[1:]:
            the_map = TF.resize(the_map[None], list(image.shape[1:]), antialias=True)[0]
        top, left, h, w = view_box(image.shape[1], image.shape[2], self.view_fraction)
        image, the_map = image[:, top : top + h, left : left + w], the_map[top : top + h, left : left + w]
        size = [self.image_size, self.image_size]
        if self.augment:
            top, left, h, w = self._crop_box(image.shape[1], image.shape[2], None)
            image = TF.resized_crop(image, top, left, h, w, size, antialias=True)
            the_map = TF.resized_crop(the_map[None], top, left, h, w, size, antialias=True)[0]
            if self.flip and torch.rand(1) < 0.5:
                image, the_map = image.flip(-1), the_map.flip(-1)
        else:
            image = TF.resize(image, size, antialias=True)
            the_map = TF.resize(the_map[None], size, antialias=True)[0]
        image = TF.normalize(image, IMAGENET_MEAN, IMAGENET_STD)
        return image, sample.label, the_map.clamp_min(0), has_map


def npz_samples(npz_path, images_dir):
    """Samples from an exported .npz (maps, image_ids, category_ids) and a folder of `<image_id>.<ext>`
    images, for training off-site. Labels are the category ids' positions in sorted order."""
    images_dir = Path(images_dir)
    files = {p.stem: p for p in images_dir.iterdir() if p.is_file()}
    with np.load(npz_path, allow_pickle=False) as npz:
        stack, image_ids, category_ids = npz["maps"], npz["image_ids"], npz["category_ids"]
    classes = sorted(set(category_ids.tolist()))
    samples, missing = [], []
    for the_map, image_id, category_id in zip(stack, image_ids.tolist(), category_ids.tolist(), strict=True):
        path = files.get(str(image_id))
        if path is None:
            missing.append(image_id)
            continue
        samples.append(Sample(path, classes.index(category_id), the_map.astype(np.float32)))
    return samples, classes, missing
