"""A training run's configuration: every key, its type and its allowed values, checked strictly."""

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The names a config may use, known without torch (web processes check configs and never import
# torch). The one definition: training.nets.resnets imports STAGES and architectures() from here, and
# tests/training/test_trainer.py checks that BACKBONES are exactly the backbones it builds.
STAGES = ("layer1", "layer2", "layer3", "layer4")
BACKBONES = ("resnet18", "resnet50", "resnet_tiny")

# GALA's settings where the project differs from the authors' TensorFlow code (serre-lab/gala_tpu,
# resnet_helpers.py and resnet_main.py; docs/SCIENCE.md section 3). "project" is TrainConfig's default;
# "gala_tpu" is what that code does:
# - global_relu: its global path ends in a ReLU (tf.contrib.layers.fully_connected's default
#   activation), so g >= 0; the project's ends in the linear layer (g of either sign, as the paper).
# - gain_init: its a and m (alpha, beta) start at tf.variance_scaling_initializer() values: shape
#   [1, 1, 1, C] gives fan_in 1, so a truncated normal of unit variance cut at 2 sigma, one draw per
#   channel; the project starts them at ones (A = squash(g + l + g l) at the start).
# - attention_weight_decay: it keeps every attention variable out of weight decay (its L2 term skips
#   names with "ATTENTION" and "block", which alpha/beta carry); the project decays the attention
#   convs' and linear layers' weights like any weight and spares only 1-D parameters (biases, norms,
#   a and m).
# - local_5x5: its local path has one 5 x 5 conv (C/r -> C/r, ReLU) between the 1 x 1 convs
#   (extra_convs=1); the project's has none (the paper's text).
GALA_PRESETS = {
    "project": {"global_relu": False, "gain_init": "ones", "attention_weight_decay": True, "local_5x5": False},
    "gala_tpu": {
        "global_relu": True,
        "gain_init": "variance_scaling",
        "attention_weight_decay": False,
        "local_5x5": True,
    },
}
GAIN_INITS = ("ones", "variance_scaling")


def architectures() -> list[str]:
    return [name for base in BACKBONES for name in (base, f"gala_{base}", f"se_{base}")]


class ConfigError(ValueError):
    def __init__(self, key, message):
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass
class TrainConfig:
    arch: str = "gala_resnet_tiny"
    lambda_clickme: float = 10.0  # see training/experiments/synthetic_benchmark.DEFAULT_LAMBDA
    epochs: int = 30
    batch_size: int = 32
    image_size: int = 96
    seed: int = 0
    optimizer: str = "sgd"
    lr: float | None = None  # None: 0.1 x batch / 256 for SGD (docs/SCIENCE.md section 4), 1e-3 for AdamW
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: int = 2
    schedule: str = "cosine"
    stages: list = field(default_factory=lambda: ["layer3"])
    reduction: int = 4
    squash: str = "sigmoid"
    local_5x5: bool = False  # GALA settings: GALA_PRESETS["project"]; {"gala_preset": "gala_tpu"} for the authors'
    global_relu: bool = False
    gain_init: str = "ones"
    attention_weight_decay: bool = True
    label_smoothing: float = 0.0
    max_saliency_images: int = 200
    num_workers: int = 0

    def to_dict(self):
        return asdict(self)

    @property
    def effective_lr(self):
        if self.lr is not None:
            return self.lr
        return 0.1 * self.batch_size / 256 if self.optimizer == "sgd" else 1e-3


_RANGES = {
    "epochs": (1, 10_000),
    "batch_size": (1, 4096),
    "image_size": (32, 1024),
    "seed": (0, 2**31 - 1),
    "lambda_clickme": (0.0, 1e4),
    "lr": (1e-8, 10.0),
    "momentum": (0.0, 0.999),
    "weight_decay": (0.0, 1.0),
    "warmup_epochs": (0, 1000),
    "reduction": (1, 64),
    "label_smoothing": (0.0, 0.5),
    "max_saliency_images": (0, 100_000),
    "num_workers": (0, 64),
}
_CHOICES = {
    "optimizer": ("sgd", "adamw"),
    "schedule": ("cosine", "step"),
    "squash": ("sigmoid", "tanh"),
    "gain_init": GAIN_INITS,
}


def _check_type(key, value, kind):
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(key, f"expected {kind.__name__}, got {type(value).__name__}")


def with_gala_preset(raw):
    """`raw` with its "gala_preset" (a name in GALA_PRESETS) expanded into the GALA settings; keys
    given explicitly win over the preset's. Without "gala_preset", `raw` unchanged."""
    if not isinstance(raw, dict) or "gala_preset" not in raw:
        return raw
    name = raw["gala_preset"]
    if not isinstance(name, str) or name not in GALA_PRESETS:
        raise ConfigError("gala_preset", f"must be one of {', '.join(GALA_PRESETS)}")
    return {**GALA_PRESETS[name], **{k: v for k, v in raw.items() if k != "gala_preset"}}


def config_from_dict(raw, n_train_images=None):
    """A TrainConfig from a JSON object; ConfigError naming the first bad key. "gala_preset":
    "gala_tpu" (or "project") sets the GALA settings of GALA_PRESETS, explicit keys winning."""
    if not isinstance(raw, dict):
        raise ConfigError("config", "expected an object")
    raw = with_gala_preset(raw)
    known = {f.name: f for f in fields(TrainConfig)}
    for key in raw:
        if key not in known:
            raise ConfigError(key, "unknown key")
    for required in ("arch", "lambda_clickme", "epochs", "batch_size", "image_size", "seed"):
        if required not in raw:
            raise ConfigError(required, "this key is required")
    types = {
        "arch": str,
        "lambda_clickme": float,
        "epochs": int,
        "batch_size": int,
        "image_size": int,
        "seed": int,
        "optimizer": str,
        "lr": float,
        "momentum": float,
        "weight_decay": float,
        "warmup_epochs": int,
        "schedule": str,
        "stages": list,
        "reduction": int,
        "squash": str,
        "local_5x5": bool,
        "global_relu": bool,
        "gain_init": str,
        "attention_weight_decay": bool,
        "label_smoothing": float,
        "max_saliency_images": int,
        "num_workers": int,
    }
    for key, value in raw.items():
        if key == "lr" and value is None:
            continue
        _check_type(key, value, types[key])
        if key in _RANGES:
            low, high = _RANGES[key]
            if not low <= value <= high:
                raise ConfigError(key, f"must be from {low} to {high}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(key, f"must be one of {', '.join(_CHOICES[key])}")
    if raw["arch"] not in architectures():
        raise ConfigError("arch", f"unknown architecture {raw['arch']!r}; known: {', '.join(architectures())}")
    stages = raw.get("stages", ["layer3"])
    if not stages or any(s not in STAGES for s in stages) or len(set(stages)) != len(stages):
        raise ConfigError("stages", f"a non-empty list of distinct stages among {', '.join(STAGES)}")
    if raw.get("optimizer", "sgd") == "sgd" and raw.get("momentum", 0.9) <= 0:
        raise ConfigError("momentum", "SGD with Nesterov momentum needs momentum > 0")
    if n_train_images is not None and raw["batch_size"] > n_train_images:
        raise ConfigError("batch_size", f"{raw['batch_size']} is more than the {n_train_images} training images")
    values: dict[str, Any] = {k: (float(v) if types[k] is float and v is not None else v) for k, v in raw.items()}
    return TrainConfig(**values)
