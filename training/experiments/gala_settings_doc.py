"""The "GALA settings" section of docs/RESULTS.md: the project's defaults beside serre-lab/gala_tpu's
choices, rendered from training/config.py's GALA_PRESETS so the page cannot drift from the code."""

from ..config import GALA_PRESETS

# What each setting means, and where gala_tpu's choice comes from (its resnet_helpers.py and resnet_main.py).
_ROWS = (
    (
        "global_relu",
        "the global path ends in a ReLU (g >= 0)",
        "`fc_layer` calls `tf.contrib.layers.fully_connected`, whose default activation is a ReLU",
    ),
    (
        "gain_init",
        "initial a and m",
        "`alpha` and `beta` ([1, 1, 1, C]) use `tf.variance_scaling_initializer()`: fan_in 1, so a truncated "
        "normal of variance 1, cut at 2 sigma",
    ),
    (
        "attention_weight_decay",
        "weight decay on the attention convs' and linears' weights",
        "the L2 term skips every variable named `ATTENTION` or `block` (all attention variables); the project "
        "spares only 1-D parameters (biases, norms, a and m)",
    ),
    (
        "local_5x5",
        "a 5 x 5 conv (C/r -> C/r, ReLU) between the local path's 1 x 1 convs",
        "`extra_convs=1`, `extra_conv_size=5` in `feature_attention_gala`",
    ),
)


def _value(value):
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def gala_settings_section():
    """Markdown lines for the section headed "GALA settings"."""
    project, tpu = GALA_PRESETS["project"], GALA_PRESETS["gala_tpu"]
    lines = [
        "## GALA settings",
        "",
        "Where the project's GALA differs from the authors' TensorFlow code (serre-lab/gala_tpu), each "
        "difference is a field of the training config (`training/config.py`); the project's defaults are "
        'below, and `{"gala_preset": "gala_tpu"}` in a config sets all four to gala_tpu\'s choices (keys '
        "given beside it win). Both squash with a sigmoid and use r = 4.",
        "",
        "| config field | what it sets | project default | gala_tpu | gala_tpu's code |",
        "|---|---|---|---|---|",
    ]
    for key, meaning, source in _ROWS:
        lines.append(f"| `{key}` | {meaning} | {_value(project[key])} | {_value(tpu[key])} | {source} |")
    lines += [
        "",
        "Other differences that are not settings: gala_tpu's backbone is ResNet-50 v2 (pre-activation; here "
        "torchvision's v1), and it blurs the ClickMe maps again (Gaussian, 49 px, sigma 28) and normalises "
        "them by `x / sqrt(sum x)` before the distance (docs/SCIENCE.md section 3).",
    ]
    return lines
