"""Real photographs that ship with installed packages, as an ImageNet-style folder (<wnid>/<name>.png).

scikit-image's sample data (a runtime dependency: requirements.txt) and matplotlib's sample data hold a handful of
photographs of ImageNet categories; each is labelled here by what it shows, with the WordNet id of
the ImageNet class (checked against timm.data.ImageNetInfo by the tests). scikit-image's astronaut is
left out: ImageNet has no class for a space suit.
"""

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

# name: (wnid, ImageNet class, where it comes from)
PHOTOS = {
    "chelsea": ("n02123045", "tabby, tabby cat", "skimage.data.chelsea"),
    "coffee": ("n07920052", "espresso", "skimage.data.coffee"),
    "rocket": ("n03773504", "missile", "skimage.data.rocket"),
    "camera": ("n04485082", "tripod", "skimage.data.camera"),
    "grace_hopper": ("n03763968", "military uniform", "matplotlib sample_data grace_hopper.jpg"),
}


def photo_array(name):
    """(H, W, 3) uint8 RGB of one sample photograph."""
    if name == "grace_hopper":
        from matplotlib import cbook

        with PILImage.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
            return np.asarray(image.convert("RGB"))
    from skimage import data

    array = getattr(data, name)()
    return np.stack([array] * 3, axis=-1) if array.ndim == 2 else array[..., :3]


def sample_photos_write(folder, names=None):
    """Write the photographs as folder/<wnid>/<name>.png; returns the paths written."""
    folder = Path(folder)
    paths = []
    for name in names or PHOTOS:
        wnid = PHOTOS[name][0]
        path = folder / wnid / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(photo_array(name)).save(path)
        paths.append(path)
    return paths
