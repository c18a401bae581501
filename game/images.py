"""Reading any JPEG/PNG into the served form: RGB, short side resized, centre-cropped square."""

import hashlib
import io

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps


class UnreadableImage(ValueError):
    """The file is not an image Pillow can decode completely."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def _to_rgb(image):
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        image = PILImage.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        # Transparent parts are shown on white, as a browser would.
        rgba = image.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = PILImage.alpha_composite(white, rgba)
    return image.convert("RGB")


def served_image(data, size_px=256):
    """Decode `data` (bytes of any JPEG/PNG) into the size_px x size_px RGB image players see."""
    try:
        with PILImage.open(io.BytesIO(data)) as opened:
            opened.load()
            rgb = _to_rgb(ImageOps.exif_transpose(opened))
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as error:
        raise UnreadableImage(str(error) or type(error).__name__) from error
    # Short side to size_px, then the centre square (docs/SCIENCE.md section 1).
    return ImageOps.fit(rgb, (size_px, size_px), method=PILImage.Resampling.LANCZOS, centering=(0.5, 0.5))


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def as_float_array(image):
    """(H, W, 3) float32 in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / np.float32(255.0)
