"""Importing images into the game: decode, convert to the served form, store file and row together."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageOps

from .imagenet_labels import WNID_RE, LabelError, SynsetTable, folder_labels, synsets_read
from .images import UnreadableImage, png_bytes, served_image, sha256_bytes
from .models import Category, Image
from .queueing import images_screen_queue

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
SPLITS = {choice.value for choice in Image.Split}


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    failed: list = field(default_factory=list)  # (source, reason)


@dataclass(frozen=True)
class ImportItem:
    path: Path
    category: str
    split: str = "train"
    wnid: str = ""
    mask: Path | None = None
    source_name: str = ""  # the path relative to what was imported (the folder, or as the manifest has it)


def category_for(name, wnid=""):
    """The category with this wnid (or name); created when new. A bare WordNet-id name is its own wnid."""
    name = name.strip()
    wnid = (wnid or "").strip() or (name if WNID_RE.match(name) else f"x-{name}")
    category = Category.objects.filter(wnid=wnid).first() or Category.objects.filter(name=name).first()
    if category is None:
        category, _created = Category.objects.get_or_create(wnid=wnid, defaults={"name": name})
    return category


def _served_mask(path, size_px):
    with PILImage.open(path) as opened:
        grey = ImageOps.exif_transpose(opened).convert("L")
        mask = ImageOps.fit(grey, (size_px, size_px), method=PILImage.Resampling.NEAREST)
    return PILImage.fromarray((np.asarray(mask) >= 128).astype(np.uint8) * 255)


def image_import(item, size_px=256):
    """Import one file; returns the new Image, or None when an image with the same bytes exists.
    Raises UnreadableImage (nothing stored) when the file or its mask cannot be decoded."""
    try:
        data = item.path.read_bytes()
    except OSError as error:
        raise UnreadableImage(str(error)) from error
    digest = sha256_bytes(data)
    if Image.objects.filter(sha256=digest).exists():
        return None
    served = served_image(data, size_px)
    mask = None
    if item.mask is not None:
        try:
            mask = _served_mask(item.mask, size_px)
        except (OSError, ValueError) as error:
            raise UnreadableImage(f"mask {item.mask}: {error}") from error
    stored = []
    try:
        with transaction.atomic():
            category = category_for(item.category, item.wnid)
            image = Image(
                sha256=digest,
                source_name=(item.source_name or item.path.name)[-500:],
                width=served.width,
                height=served.height,
                category=category,
                split=item.split,
            )
            image.file.save(f"{digest[:2]}/{digest}.png", ContentFile(png_bytes(served)), save=False)
            stored.append(image.file.name)
            if mask is not None:
                image.mask.save(f"{digest[:2]}/{digest}.png", ContentFile(png_bytes(mask)), save=False)
                stored.append(image.mask.name)
            image.save()
    except Exception:
        for name in stored:  # never leave a file without its row
            default_storage.delete(name)
        raise
    return image


def items_from_folder(root, split="train", synsets: SynsetTable | None = None):
    """ImageNet-style: root/<category>/<file>; each keeps its name under root (`n01440764/x.JPEG`). A
    wnid-named folder's category is named by `synsets` when given (else by its wnid)."""
    root = Path(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        category, wnid = folder.name, ""
        if synsets is not None and folder.name in synsets.names:
            category, wnid = synsets.name_of(folder.name), folder.name
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                source_name = path.relative_to(root).as_posix()
                yield ImportItem(path=path, category=category, wnid=wnid, split=split, source_name=source_name)


def image_files_of(folder):
    """The image files at the top of `folder`, sorted by name (the order a label file's lines follow)."""
    files = (p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(files, key=lambda p: p.name)


def items_from_labelled_folder(root, labels, synsets: SynsetTable | None = None, split="train"):
    """A flat folder of images and a label file (game/imagenet_labels.py: one label a line in file
    order, or LOC_val_solution.csv). Every label is checked before this returns: LabelError, naming the
    file and line, when any is bad or missing. Categories are named by `synsets` when given."""
    root = Path(root)
    files = image_files_of(root)
    if not files:
        raise LabelError(f"{root} has no image files at its top (with a label file, a folder is flat: DIR/<file>)")
    labelled = folder_labels(folder=root, file_names=[p.name for p in files], labels_path=Path(labels), synsets=synsets)
    return [
        ImportItem(
            path=root / label.file_name,
            category=synsets.name_of(label.wnid) if synsets is not None else label.wnid,
            wnid=label.wnid,
            split=split,
            source_name=label.file_name,
        )
        for label in labelled
    ]


def items_from_manifest(manifest):
    """CSV rows `path,category[,split]` (an optional header may add `wnid` and `mask` columns);
    paths relative to the manifest's folder, each image keeping its path as the manifest writes it.
    Yields ImportItem or (source, reason) for a bad row."""
    manifest = Path(manifest)
    with manifest.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header = [cell.strip().lower() for cell in rows[0]]
    if "path" in header and "category" in header:
        columns, rows = header, rows[1:]
    else:
        columns = ["path", "category", "split"]
    for number, row in enumerate(rows, start=2 if columns is header else 1):
        if not row or not any(cell.strip() for cell in row):
            continue
        record = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        source = f"{manifest}:{number}"
        if not record.get("path") or not record.get("category"):
            yield (source, "a row needs a path and a category")
            continue
        split = record.get("split") or "train"
        if split not in SPLITS:
            yield (source, f"split {split!r} is not one of {sorted(SPLITS)}")
            continue
        mask = manifest.parent / record["mask"] if record.get("mask") else None
        yield ImportItem(
            path=manifest.parent / record["path"],
            category=record["category"],
            split=split,
            wnid=record.get("wnid", ""),
            mask=mask,
            source_name=record["path"],
        )


def items_of(path, split="train", labels=None, synsets=None):
    """What importing `path` stores: a CSV manifest's rows, a folder of category folders, or (with
    `labels`) a flat folder and its label file, every label checked first (LabelError: nothing is
    stored). `synsets`, a synset list or the devkit's meta.mat, resolves class indexes and names
    categories. A list when labelled, else a generator (a folder of a million files is not held)."""
    path = Path(path)
    table = synsets_read(synsets) if synsets else None
    if labels:
        if not path.is_dir():
            raise LabelError(f"{path} is not a folder (a label file goes with a flat folder of images)")
        return items_from_labelled_folder(path, labels, table, split)
    return items_from_manifest(path) if path.is_file() else items_from_folder(path, split, table)


def items_import(items, size_px=256, on_progress=None):
    """Import `items` (ImportItem, or (source, reason) for a row already known bad); unreadable files
    are reported and skipped."""
    report = ImportReport()
    for item in items:
        if isinstance(item, tuple):
            report.failed.append(item)
            continue
        try:
            image = image_import(item, size_px)
        except UnreadableImage as error:
            report.failed.append((str(item.path), str(error)))
            continue
        if image is None:
            report.duplicates += 1
        else:
            report.imported += 1
        if on_progress:
            on_progress(report)
    if report.imported:
        images_screen_queue()  # new images are served once screened against the partner
    return report


def images_import(path, split="train", size_px=256, on_progress=None, labels=None, synsets=None):
    """Import a folder or a CSV manifest (or a flat folder with `labels`, see `items_of`); unreadable
    files are reported and skipped, bad labels refused (LabelError) before anything is stored."""
    items = items_of(path, split=split, labels=labels, synsets=synsets)
    return items_import(items, size_px=size_px, on_progress=on_progress)
