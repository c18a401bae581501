"""The synthetic benchmark of docs/SCIENCE.md section 7, numpy only.

64 categories are told apart by one small, modest part of one object in a cluttered scene: a badge
(a flat square of a muted colour) carrying four short bars in a 2 x 2 arrangement, whose
orientations (vertical, rising, horizontal, falling) are the category's code. The 64 codes are those
whose orientation indices sum to 0 modulo 4, so any two categories differ in at least two bars.

What makes it a fair test (docs/SCIENCE.md sections 1 and 7):
- the bars differ from their badge by a small contrast (`PART_CONTRAST`, about 9% of the range) and
  take their colours from the same muted palette as the clutter; colour says nothing about the
  category. Through the darkened-noise background (noise sd 0.4) the bars are buried; revealed, they
  are plain to read;
- the clutter repeats the part's ingredients (flat muted shapes and loose bars of the same sizes and
  contrasts), so no single bar is diagnostic, only the arrangement on the badge;
- saturated, high-contrast distractors (discs, stripes, rings in pure colours) carry the strongest
  bottom-up contrast and colour, so a bottom-up saliency baseline does not find the part.
Each image comes with its ground-truth diagnostic mask (the badge's square).
"""

import collections
import csv
import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SIZE_PX = 256
CROP_MARGIN_PX = (256 - 224) // 2
ORIENTATIONS = ("V", "R", "H", "F")  # vertical, rising (/), horizontal, falling (\)
ANGLES = (np.pi / 2, np.pi / 4, 0.0, -np.pi / 4)  # image angle of each orientation (y grows downwards)
CODES = [code for code in itertools.product(range(4), repeat=4) if sum(code) % 4 == 0]
# (name, wnid-like id, code): the category's name spells its bars (top-left, top-right, bottom-left, bottom-right).
CATEGORIES = [
    (f"badge {''.join(ORIENTATIONS[o] for o in code)}", f"s{index:07d}", code) for index, code in enumerate(CODES)
]
CODE_OF_WNID = {wnid: code for _name, wnid, code in CATEGORIES}


def category_codes(wnids):
    """The part codes of categories given by wnid, in that order, or None unless all are the benchmark's."""
    codes = [CODE_OF_WNID.get(wnid) for wnid in wnids]
    return None if not codes or any(code is None for code in codes) else codes


PART_CONTRAST = 24.0  # bars against their badge, in 0-255 units
N_DISTRACTORS = (5, 9)
SATURATED = np.array(
    [(235, 20, 20), (20, 60, 240), (250, 220, 0), (0, 200, 60), (230, 0, 230), (0, 220, 230), (255, 120, 0)],
    dtype=np.float32,
)


def _muted_colour(rng, low=50, high=200):
    grey = rng.uniform(low, high)
    return np.clip(grey + rng.uniform(-28, 28, size=3), 0, 255)


def _box(size_px, x0, y0, x1, y1):
    """Integer bounds of the box [x0, x1) x [y0, y1) clipped to the image, and its pixel grids."""
    left, top = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    right, bottom = min(int(np.ceil(x1)), size_px), min(int(np.ceil(y1)), size_px)
    if right <= left or bottom <= top:
        return None
    yy, xx = np.mgrid[top:bottom, left:right].astype(np.float32)
    return (slice(top, bottom), slice(left, right)), xx, yy


def _paint(image, box, region, colour):
    if box is not None:
        image[box[0]][region] = colour


def _bar(image, x, y, angle, length, width, colour):
    """A bar centred on (x, y) along `angle` (radians, image coordinates)."""
    reach = length / 2 + width
    box = _box(image.shape[0], x - reach, y - reach, x + reach, y + reach)
    if box is None:
        return
    dx, dy = box[1] - x, box[2] - y
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = -dx * np.sin(angle) + dy * np.cos(angle)
    _paint(image, box, (np.abs(along) <= length / 2) & (np.abs(across) <= width / 2), colour)


def _ellipse(image, x, y, rx, ry, colour):
    box = _box(image.shape[0], x - rx, y - ry, x + rx + 1, y + ry + 1)
    if box is not None:
        _paint(image, box, ((box[1] - x) / rx) ** 2 + ((box[2] - y) / ry) ** 2 <= 1, colour)


def _rectangle(image, x, y, w, h, colour):
    box = _box(image.shape[0], x, y, x + w, y + h)
    if box is not None:
        image[box[0]] = colour


def _bar_colour(rng, backing, contrast):
    """Bars a little darker than what they lie on."""
    return np.clip(backing - contrast + rng.uniform(-5, 5, size=3), 0, 255)


def badge(image, rng, x, y, size_px, code, backing, bar_colour):
    """Paint the badge of `code` with its top-left corner at (x, y)."""
    _rectangle(image, x, y, size_px, size_px, backing)
    length, width = 0.38 * size_px, max(2.5, 0.12 * size_px)
    for slot, orientation in enumerate(code):
        cx = x + size_px * (0.28 + 0.44 * (slot % 2)) + rng.uniform(-1, 1)
        cy = y + size_px * (0.28 + 0.44 * (slot // 2)) + rng.uniform(-1, 1)
        _bar(image, cx, cy, ANGLES[orientation] + rng.uniform(-0.12, 0.12), length, width, bar_colour)


def _distractor(image, rng):
    size_px = image.shape[0]
    colour = SATURATED[rng.integers(len(SATURATED))]
    other = SATURATED[rng.integers(len(SATURATED))] if rng.random() < 0.5 else np.full(3, 255.0 * rng.integers(2))
    x, y, r = rng.uniform(10, size_px - 10), rng.uniform(10, size_px - 10), rng.uniform(10, 20)
    kind = rng.integers(3)
    if kind == 0:  # a disc with a contrasting core
        _ellipse(image, x, y, r, r, colour)
        _ellipse(image, x, y, r / 2.2, r / 2.2, other)
    elif kind == 1:  # a striped square
        _rectangle(image, x - r, y - r, 2 * r, 2 * r, colour)
        for k in range(3):
            _rectangle(image, x - r, y - r + (4 * k + 1) * r / 6, 2 * r, r / 3, other)
    else:  # a ring
        _ellipse(image, x, y, r, r, colour)
        _ellipse(image, x, y, 0.6 * r, 0.6 * r, other)


def scene(rng, category_index, size_px=SIZE_PX, part_colours=None, n_distractors=None, contrast=PART_CONTRAST):
    """One image (size_px, size_px, 3) uint8 of category `category_index` and its mask (bool).

    `part_colours` = (backing, bars) RGB fixes the badge's colours (default: drawn from the clutter's
    muted palette); `n_distractors` fixes the number of saturated distractors (default 3-5)."""
    top, bottom = _muted_colour(rng), _muted_colour(rng)
    t = (np.arange(size_px, dtype=np.float32) / size_px)[:, None, None]  # the row's height, one column
    image = np.repeat((top * (1 - t) + bottom * t).astype(np.float32), size_px, axis=1)
    image += rng.normal(0, 6, size=(size_px // 16, size_px // 16, 3)).repeat(16, 0).repeat(16, 1)
    # Clutter: flat muted shapes, and loose bars like the badge's.
    for _ in range(rng.integers(14, 22)):
        kind = rng.integers(3)
        x0, y0 = rng.uniform(-20, size_px), rng.uniform(-20, size_px)
        colour = _muted_colour(rng)
        if kind == 0:
            w, h = rng.uniform(8, 60, size=2)
            _rectangle(image, x0, y0, w, h, colour)
        elif kind == 1:
            angle, length, width = rng.uniform(0, np.pi), rng.uniform(30, 120), rng.uniform(2, 5)
            _bar(image, x0 + length / 2 * np.cos(angle), y0 + length / 2 * np.sin(angle), angle, length, width, colour)
        else:
            rx, ry = rng.uniform(6, 40, size=2)
            _ellipse(image, x0, y0, rx, ry, colour)
    for _ in range(rng.integers(10, 18)):  # short low-contrast bars on flat patches, as on the badge
        x0, y0 = rng.uniform(0, size_px, size=2)
        under = image[int(y0), int(x0)]
        s = rng.uniform(28, 36)
        _bar(
            image,
            x0,
            y0,
            ANGLES[rng.integers(4)] + rng.uniform(-0.12, 0.12),
            0.36 * s,
            0.1 * s,
            _bar_colour(rng, under, contrast),
        )
    # The object: a body with the diagnostic badge on its outline.
    cx, cy = rng.uniform(70, size_px - 70, size=2)
    rx, ry = rng.uniform(28, 48), rng.uniform(20, 36)
    _ellipse(image, cx, cy, rx, ry, _muted_colour(rng))
    part_px = int(rng.integers(38, 47))
    angle = rng.uniform(0, 2 * np.pi)
    # Keep the part inside the partner's 224 px centre crop (docs/SCIENCE.md section 1).
    low, high = CROP_MARGIN_PX + 2, size_px - CROP_MARGIN_PX - part_px - 2
    px = int(np.clip(cx + rx * np.cos(angle) - part_px / 2, low, high))
    py = int(np.clip(cy + ry * np.sin(angle) - part_px / 2, low, high))
    if part_colours is None:
        backing = _muted_colour(rng, 80, 200)
        bars = _bar_colour(rng, backing, contrast)
    else:
        backing, bars = (np.asarray(c, dtype=np.float32) for c in part_colours)
    badge(image, rng, px, py, part_px, CATEGORIES[category_index][2], backing, bars)
    mask = np.zeros((size_px, size_px), dtype=bool)
    mask[py : py + part_px, px : px + part_px] = True
    # Saturated distractors, kept off the badge.
    n = rng.integers(*N_DISTRACTORS) if n_distractors is None else n_distractors
    saved = image[mask].copy()
    for _ in range(n):
        _distractor(image, rng)
    image[mask] = saved
    return np.clip(image, 0, 255).astype(np.uint8), mask


def split_for(position, n_per_category):
    """70% train, 15% val, 15% test, by position within the category."""
    fraction = position / n_per_category
    return "train" if fraction < 0.7 else ("val" if fraction < 0.85 else "test")


def _write_pngs(out_dir, image_path, image, mask_path, mask):
    from PIL import Image as PILImage

    PILImage.fromarray(image).save(out_dir / image_path)
    PILImage.fromarray(mask.astype(np.uint8) * 255).save(out_dir / mask_path)


def write_benchmark(out_dir, n_per_category=40, seed=0, n_categories=len(CATEGORIES), on_image=None):
    """Write images/<category>/<n>.png, masks/<category>/<n>.png and manifest.csv; return the manifest path.

    The scenes are drawn here, in order, from one generator (the images depend on nothing else); other
    processes encode and write the PNGs meanwhile. `on_image()` is called once per image written."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    pending: collections.deque = collections.deque()
    # forkserver, not fork: a caller with threads running (torch's, a test runner's) could hand a forked
    # child a lock held by a thread that does not exist there, and the pool would wait forever.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=max(1, min(4, (os.cpu_count() or 1))), mp_context=context) as pool:
        for category_index in range(n_categories):
            name, wnid, _code = CATEGORIES[category_index]
            folder = name.replace(" ", "_")
            (out_dir / "images" / folder).mkdir(parents=True, exist_ok=True)
            (out_dir / "masks" / folder).mkdir(parents=True, exist_ok=True)
            for position in range(n_per_category):
                image, mask = scene(rng, category_index)
                image_path = Path("images") / folder / f"{position:04d}.png"
                mask_path = Path("masks") / folder / f"{position:04d}.png"
                pending.append(pool.submit(_write_pngs, out_dir, image_path, image, mask_path, mask))
                while len(pending) > 16:  # a bounded backlog: a few MB of arrays, not the whole benchmark
                    _written(pending.popleft(), on_image)
                rows.append([str(image_path), name, split_for(position, n_per_category), wnid, str(mask_path)])
        while pending:
            _written(pending.popleft(), on_image)
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "category", "split", "wnid", "mask"])
        writer.writerows(rows)
    return manifest


def _written(future, on_image):
    future.result()
    if on_image is not None:
        on_image()
