"""A ClickMe map drawn as a heatmap over its image, for people (map.png). numpy and Pillow only."""

import io

import numpy as np
from PIL import Image as PILImage

# A perceptual "inferno"-like ramp: (position, RGB).
_RAMP = np.array([[0.0, 0, 0, 4], [0.25, 87, 16, 110], [0.5, 188, 55, 84], [0.75, 249, 142, 9], [1.0, 252, 255, 164]])


def colourise(values):
    values = np.clip(values, 0, 1)
    return np.stack([np.interp(values, _RAMP[:, 0], _RAMP[:, c]) for c in (1, 2, 3)], axis=-1)


def heatmap_png(image_rgb, the_map, opacity=0.65):
    """PNG bytes of the map's colours blended over the image, more opaque where the map is high."""
    base = np.asarray(image_rgb, dtype=np.float64)
    alpha = (opacity * np.clip(the_map, 0, 1) ** 0.5)[..., None]
    blended = base * (1 - alpha) + colourise(the_map) * alpha
    buffer = io.BytesIO()
    PILImage.fromarray(blended.round().astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
