"""Registering partners: an exported artifact or a torchvision weights file plus its class index."""

import json
from pathlib import Path

from django.db import transaction

from . import partner as partner_runtime
from .models import Category, Partner
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
    *, name, weights_path, architecture="exported", class_index=None, input_size=224, activate=False, metrics=None
):
    """Check that the file loads as a partner, then store it; PartnerLoadError when it does not."""
    weights_path = str(Path(weights_path).resolve())
    if architecture == "exported":
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
        if activate:
            partner_activate(partner=partner)
    return partner
