"""The synthetic benchmark of SCIENCE.md section 7, numpy only.

Ten categories are told apart by one small part (a glyph: its shape, with colours shared by pairs of
categories) attached to one object in a cluttered scene. Each image comes with its ground-truth
diagnostic mask (the glyph's square), so maps, reliability and attention can be checked against it.
"""

import csv
from pathlib import Path

import numpy as np

SIZE_PX = 256
CROP_MARGIN_PX = (256 - 224) // 2
# (name, wnid-like id, RGB of the glyph); categories in a pair share a colour, so shape decides.
CATEGORIES = [
    ("red ring", "s0000000", (215, 40, 40)),
    ("red plus", "s0000001", (215, 40, 40)),
    ("blue saltire", "s0000002", (40, 80, 225)),
    ("blue triangle", "s0000003", (40, 80, 225)),
    ("yellow diamond", "s0000004", (230, 200, 30)),
    ("yellow bars", "s0000005", (230, 200, 30)),
    ("green columns", "s0000006", (40, 175, 60)),
    ("green checker", "s0000007", (40, 175, 60)),
    ("magenta crescent", "s0000008", (205, 45, 200)),
    ("magenta frame", "s0000009", (205, 45, 200)),
]


def glyph(index, size_px):
    """Boolean (size_px, size_px) shape of category `index`."""
    v, u = np.mgrid[-1 : 1 : complex(0, size_px), -1 : 1 : complex(0, size_px)]  # type: ignore[misc]  # numpy's stubs omit mgrid's complex step
    r = np.hypot(u, v)
    shapes = [
        lambda: (r > 0.5) & (r < 0.95),
        lambda: ((np.abs(u) < 0.28) | (np.abs(v) < 0.28)) & (np.maximum(np.abs(u), np.abs(v)) < 0.95),
        lambda: ((np.abs(u - v) < 0.4) | (np.abs(u + v) < 0.4)) & (np.maximum(np.abs(u), np.abs(v)) < 0.95),
        lambda: (v > -0.9) & (v < 0.9) & (np.abs(u) < (v + 0.9) / 1.8 * 0.95),
        lambda: np.abs(u) + np.abs(v) < 0.95,
        lambda: (np.floor((v + 1) * 2.5) % 2 == 0) & (np.maximum(np.abs(u), np.abs(v)) < 0.95),
        lambda: (np.floor((u + 1) * 2.5) % 2 == 0) & (np.maximum(np.abs(u), np.abs(v)) < 0.95),
        lambda: ((np.floor((u + 1) * 2) + np.floor((v + 1) * 2)) % 2 == 0) & (np.maximum(np.abs(u), np.abs(v)) < 0.95),
        lambda: (r < 0.95) & (np.hypot(u - 0.45, v) > 0.7),
        lambda: (np.maximum(np.abs(u), np.abs(v)) < 0.95) & (np.maximum(np.abs(u), np.abs(v)) > 0.55),
    ]
    return shapes[index]()


def _muted_colour(rng):
    grey = rng.uniform(50, 200)
    return np.clip(grey + rng.uniform(-28, 28, size=3), 0, 255)


def _paint(image, region, colour):
    image[region] = colour


def scene(rng, category_index, size_px=SIZE_PX):
    """One image (size_px, size_px, 3) uint8 of category `category_index` and its mask (bool)."""
    yy, xx = np.mgrid[0:size_px, 0:size_px].astype(np.float32)
    top, bottom = _muted_colour(rng), _muted_colour(rng)
    t = (yy / size_px)[..., None]
    image = (top * (1 - t) + bottom * t).astype(np.float32)
    image += rng.normal(0, 6, size=(size_px // 16, size_px // 16, 3)).repeat(16, 0).repeat(16, 1)
    # Clutter: rectangles, bars and blobs in muted colours.
    for _ in range(rng.integers(14, 22)):
        kind = rng.integers(3)
        x0, y0 = rng.uniform(-20, size_px), rng.uniform(-20, size_px)
        if kind == 0:
            w, h = rng.uniform(8, 60, size=2)
            region = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
        elif kind == 1:
            angle, length, width = rng.uniform(0, np.pi), rng.uniform(30, 120), rng.uniform(2, 5)
            dx, dy = xx - x0, yy - y0
            along = dx * np.cos(angle) + dy * np.sin(angle)
            across = -dx * np.sin(angle) + dy * np.cos(angle)
            region = (along >= 0) & (along <= length) & (np.abs(across) <= width / 2)
        else:
            rx, ry = rng.uniform(6, 40, size=2)
            region = ((xx - x0) / rx) ** 2 + ((yy - y0) / ry) ** 2 <= 1
        _paint(image, region, _muted_colour(rng))
    # The object: a body with the diagnostic part on its outline.
    cx, cy = rng.uniform(70, size_px - 70, size=2)
    rx, ry = rng.uniform(28, 48), rng.uniform(20, 36)
    body_colour = np.array([150, 120, 90]) + rng.uniform(-30, 30, size=3)
    _paint(image, ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1, body_colour)
    part_px = int(rng.integers(28, 38))
    angle = rng.uniform(0, 2 * np.pi)
    # Keep the part inside the partner's 224 px centre crop (SCIENCE.md section 1).
    low, high = CROP_MARGIN_PX + 2, size_px - CROP_MARGIN_PX - part_px - 2
    px = int(np.clip(cx + rx * np.cos(angle) - part_px / 2, low, high))
    py = int(np.clip(cy + ry * np.sin(angle) - part_px / 2, low, high))
    colour = np.array(CATEGORIES[category_index][2], dtype=np.float32) + rng.uniform(-15, 15, size=3)
    backing = np.array([235, 235, 225]) + rng.uniform(-15, 15, size=3)
    patch = image[py : py + part_px, px : px + part_px]
    patch[:] = backing
    patch[glyph(category_index, part_px)] = colour
    mask = np.zeros((size_px, size_px), dtype=bool)
    mask[py : py + part_px, px : px + part_px] = True
    return np.clip(image, 0, 255).astype(np.uint8), mask


def split_for(position, n_per_category):
    """70% train, 15% val, 15% test, by position within the category."""
    fraction = position / n_per_category
    return "train" if fraction < 0.7 else ("val" if fraction < 0.85 else "test")


def write_benchmark(out_dir, n_per_category=80, seed=0, n_categories=len(CATEGORIES)):
    """Write images/<category>/<n>.png, masks/<category>/<n>.png and manifest.csv; return the manifest path."""
    from PIL import Image as PILImage

    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for category_index in range(n_categories):
        name, wnid, _colour = CATEGORIES[category_index]
        folder = name.replace(" ", "_")
        (out_dir / "images" / folder).mkdir(parents=True, exist_ok=True)
        (out_dir / "masks" / folder).mkdir(parents=True, exist_ok=True)
        for position in range(n_per_category):
            image, mask = scene(rng, category_index)
            image_path = Path("images") / folder / f"{position:04d}.png"
            mask_path = Path("masks") / folder / f"{position:04d}.png"
            PILImage.fromarray(image).save(out_dir / image_path)
            PILImage.fromarray(mask.astype(np.uint8) * 255).save(out_dir / mask_path)
            rows.append([str(image_path), name, split_for(position, n_per_category), wnid, str(mask_path)])
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "category", "split", "wnid", "mask"])
        writer.writerows(rows)
    return manifest
