"""Registering partners: an exported artifact, a torchvision weights file plus its class index, or a
pretrained ImageNet network from an installed package (game/pretrained.py). Registering computes the
partner's validity report (game/partner_validity.py); activating goes through its promotion rule."""

import json
from pathlib import Path

from django.db import transaction

from . import partner as partner_runtime
from .models import Category, Partner
from .partner_validity import partner_validity_compute, promotion_check
from .services import partner_activate


def read_class_index(path):
    """[(wnid, label)] in output order, from Keras' imagenet_class_index.json ({"0": [wnid, label]})
    or a text file with one `wnid [label]` per line."""
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() == ".json":
        index = json.loads(text)
        if isinstance(index, dict):
            return [tuple(index[str(i)]) for i in range(len(index))]
        return [tuple(entry) if isinstance(entry, list) else (entry, entry) for entry in index]
    rows = []
    for line in text.splitlines():
        if line.strip():
            wnid, _, label = line.strip().partition(" ")
            rows.append((wnid, label.strip() or wnid))
    return rows


def categories_named(classes):
    """Categories imported from wnid-named folders (n02085620/...) are named by their wnid: name them
    by the network's label of that wnid (its first synonym), where no other category has that name."""
    labels = {wnid: label.split(",")[0].strip() for wnid, label in classes}
    taken = set(Category.objects.values_list("name", flat=True))
    for category in Category.objects.filter(name__regex=r"^n[0-9]{8}$"):
        label = labels.get(category.wnid)
        if category.name == category.wnid and label and label != category.wnid and label not in taken:
            category.name = label
            category.save(update_fields=["name"])
            taken.add(label)


def mapping_for(classes):
    """One [category id or None, label] per output, categories matched by wnid."""
    by_wnid = dict(Category.objects.values_list("wnid", "id"))
    names = dict(Category.objects.values_list("id", "name"))
    mapping = []
    for wnid, label in classes:
        category_id = by_wnid.get(wnid)
        mapping.append([category_id, names[category_id] if category_id else label])
    return mapping


def partner_register(
    *,
    name,
    weights_path,
    architecture="exported",
    class_index=None,
    input_size=224,
    activate=False,
    metrics=None,
    force=False,
    n_images=None,
):
    """Check that the file loads as a partner, store it and compute its validity report on the active
    images; PartnerLoadError when it does not load. With `activate` it becomes the game's partner
    unless the report refuses it (409 partner_refused, the partner stays registered) and not `force`."""
    weights_path = str(Path(weights_path).resolve())
    if architecture in partner_runtime.pretrained.PRETRAINED:
        classes = partner_runtime.pretrained.imagenet_classes()
        input_size = partner_runtime.pretrained.INPUT_SIZE
        mean, std = partner_runtime.pretrained.MEAN, partner_runtime.pretrained.STD
        partner_runtime.pretrained.build(architecture, weights_path)
    elif architecture == "exported":
        _program, meta = partner_runtime.read_artifact_meta(weights_path)
        classes = [(c["wnid"], c["name"]) for c in meta["categories"]]
        input_size, mean, std = meta["input_size"], meta["mean"], meta["std"]
        metrics = {**meta.get("metrics", {}), **(metrics or {})}
    else:
        if class_index is None:
            raise partner_runtime.PartnerLoadError("a torchvision partner needs --class-index")
        classes = read_class_index(class_index)
        mean, std = partner_runtime.IMAGENET_MEAN, partner_runtime.IMAGENET_STD
        partner_runtime.load_torchvision_classifier(architecture, weights_path, len(classes))
    categories_named(classes)
    mapping = mapping_for(classes)
    if not any(category_id for category_id, _label in mapping):
        raise partner_runtime.PartnerLoadError("none of the network's classes matches a category's wnid")
    with transaction.atomic():
        partner, _created = Partner.objects.update_or_create(
            name=name,
            defaults={
                "architecture": architecture,
                "weights_file": weights_path,
                "category_mapping": mapping,
                "input_size": input_size,
                "mean": list(mean),
                "std": list(std),
                "metrics": metrics or {},
            },
        )
    partner_validity_compute(partner, n_images=n_images)
    if activate:
        promotion_check(partner, force=force)
        partner_activate(partner=partner)
    return partner
