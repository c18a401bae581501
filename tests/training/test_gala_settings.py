"""GALA's settings where the project and serre-lab/gala_tpu differ (training/config.py GALA_PRESETS):
the global path's final ReLU, the initial a and m, the attention parameters' weight decay and the
5 x 5 local conv; each a config field, wired through the nets and the optimizer."""

from dataclasses import asdict, replace

import pytest
import torch

from training.config import GALA_PRESETS, ConfigError, TrainConfig, config_from_dict
from training.nets.gala import GALA, variance_scaling_
from training.nets.resnets import build_net
from training.trainer import make_optimizer, net_for, param_groups

BASE = {"arch": "gala_resnet_tiny", "lambda_clickme": 1.0, "epochs": 1, "batch_size": 4, "image_size": 32, "seed": 0}
TPU = GALA_PRESETS["gala_tpu"]


def gala_modules(net):
    return [m for m in net.modules() if isinstance(m, GALA)]


def test_the_config_defaults_are_the_project_preset_and_the_presets_differ_in_every_setting():
    defaults = asdict(TrainConfig())
    assert {key: defaults[key] for key in GALA_PRESETS["project"]} == GALA_PRESETS["project"]
    assert set(TPU) == set(GALA_PRESETS["project"])
    assert all(TPU[key] != GALA_PRESETS["project"][key] for key in TPU)


def test_a_config_can_ask_for_the_gala_tpu_preset_and_override_one_setting():
    config = config_from_dict({**BASE, "gala_preset": "gala_tpu"})
    assert {key: getattr(config, key) for key in TPU} == TPU
    mixed = config_from_dict({**BASE, "gala_preset": "gala_tpu", "local_5x5": False})
    assert mixed.local_5x5 is False and mixed.global_relu is True
    assert "gala_preset" not in mixed.to_dict()  # what is stored is the settings themselves
    assert config_from_dict(mixed.to_dict()) == mixed


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"gala_preset": "tf"}, "gala_preset"),
        ({"gala_preset": ["gala_tpu"]}, "gala_preset"),
        ({"gain_init": "zeros"}, "gain_init"),
        ({"global_relu": 1}, "global_relu"),
        ({"attention_weight_decay": "no"}, "attention_weight_decay"),
    ],
)
def test_bad_gala_settings_name_the_key(raw, key):
    with pytest.raises(ConfigError) as error:
        config_from_dict({**BASE, **raw})
    assert error.value.key == key


def test_the_global_path_ends_in_a_relu_only_with_global_relu():
    torch.manual_seed(0)
    x = torch.randn(4, 16, 5, 5)
    project, tpu = GALA(16), GALA(16, global_relu=True)
    assert isinstance(project.global_path[-1], torch.nn.Linear)
    assert isinstance(tpu.global_path[-1], torch.nn.ReLU) and isinstance(tpu.global_path[-2], torch.nn.Linear)
    tpu.load_state_dict(project.state_dict())  # the ReLU adds no parameter: same weights, same keys
    g_project, g_tpu = project.global_path(x), tpu.global_path(x)
    assert (g_project < 0).any()  # so the ReLU changes something
    assert torch.equal(g_tpu, g_project.clamp_min(0))


def test_the_gains_start_at_ones_or_at_variance_scaling_draws():
    project = GALA(64)
    assert torch.equal(project.add_gain, torch.ones(64)) and torch.equal(project.mul_gain, torch.ones(64))
    torch.manual_seed(0)
    tpu = GALA(4096, gain_init="variance_scaling")
    cut = 2 / 0.87962566103423978  # 2 sigma of the truncated normal whose variance is 1 / fan_in = 1
    for gain in (tpu.add_gain, tpu.mul_gain):
        assert abs(gain.mean().item()) < 0.05 and 0.95 < gain.std().item() < 1.05
        assert gain.abs().max().item() <= cut and gain.abs().max().item() > 2.0  # truncated, not clipped at 1
        assert (gain < 0).float().mean().item() == pytest.approx(0.5, abs=0.04)
    assert not torch.equal(tpu.add_gain, tpu.mul_gain)
    wide = variance_scaling_(torch.empty(20000), fan_in=4)
    assert wide.var().item() == pytest.approx(0.25, rel=0.05)
    with pytest.raises(ValueError):
        GALA(8, gain_init="zeros")


def test_the_5x5_local_conv_keeps_the_shapes_and_adds_its_weights():
    plain, five = GALA(32, local_5x5=False), GALA(32, local_5x5=True)
    kernels = [m.kernel_size for m in five.local_path if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(1, 1), (5, 5), (1, 1)]
    assert [m.kernel_size for m in plain.local_path if isinstance(m, torch.nn.Conv2d)] == [(1, 1), (1, 1)]
    extra = sum(p.numel() for p in five.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 8 * 8 * 25 + 8  # C/r -> C/r, 5 x 5, with bias
    y, amap = five(torch.randn(2, 32, 7, 9))
    assert y.shape == (2, 32, 7, 9) and amap.shape == (2, 7, 9)


def test_the_config_settings_reach_every_gala_module():
    net = net_for(replace(TrainConfig(**BASE), **TPU, stages=["layer2", "layer3"]), 3)
    modules = gala_modules(net)
    assert len(modules) == 2
    for module in modules:
        assert isinstance(module.global_path[-1], torch.nn.ReLU)
        assert any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (5, 5) for m in module.local_path)
        assert not torch.equal(module.add_gain, torch.ones_like(module.add_gain))
    logits, maps = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 3) and [tuple(m.shape) for m in maps] == [
        (2, 16, 16),
        (2, 8, 8),
    ]  # the inputs of layer2 and layer3
    for module in gala_modules(net_for(TrainConfig(**BASE), 3)):
        assert isinstance(module.global_path[-1], torch.nn.Linear)
        assert torch.equal(module.add_gain, torch.ones_like(module.add_gain))


def test_gala_resnet50_with_the_gala_tpu_settings_has_the_same_maps():
    net = build_net("gala_resnet50", 10, global_relu=True, gain_init="variance_scaling", local_5x5=True)
    _logits, maps = net(torch.randn(1, 3, 224, 224))
    assert [tuple(m.shape[-2:]) for m in maps] == [(28, 28)] + [(14, 14)] * 5


@pytest.mark.parametrize("arch", ["gala_resnet_tiny", "se_resnet_tiny"])
def test_weight_decay_spares_1d_parameters_or_every_attention_parameter(arch):
    net = build_net(arch, 3, local_5x5=True)
    attention = {id(p) for m in gala_modules(net) for p in m.parameters()}
    every = {id(p) for p in net.parameters()}

    def membership(attention_weight_decay):
        decay, no_decay = param_groups(net, 1e-4, attention_weight_decay)
        assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
        decay, no_decay = {id(p) for p in decay["params"]}, {id(p) for p in no_decay["params"]}
        assert decay | no_decay == every and not decay & no_decay
        return decay, no_decay

    decay, no_decay = membership(True)  # the project's: the attention convs' and linears' weights decay
    assert {id(p) for p in net.parameters() if p.ndim <= 1} == no_decay
    assert attention & decay and attention & no_decay
    decay, no_decay = membership(False)  # gala_tpu's: nothing of the attention modules decays
    assert attention <= no_decay
    assert decay == {id(p) for p in net.parameters() if p.ndim > 1} - attention and decay


def test_the_optimizer_follows_the_configs_weight_decay_setting():
    for setting in (True, False):
        config = replace(TrainConfig(**BASE), attention_weight_decay=setting)
        model = net_for(config, 3)
        decayed = {id(p) for p in make_optimizer(config, model).param_groups[0]["params"]}
        module = gala_modules(model)[0]
        assert (id(module.local_path[0].weight) in decayed) is setting
        assert id(module.add_gain) not in decayed


def test_results_md_states_the_defaults_as_the_code_has_them():
    from pathlib import Path

    from training.experiments.gala_settings_doc import gala_settings_section

    section = gala_settings_section()
    assert section[0] == "## GALA settings"
    for key in GALA_PRESETS["project"]:
        assert any(line.startswith(f"| `{key}` |") for line in section)
    results = (Path(__file__).resolve().parents[2] / "docs" / "RESULTS.md").read_text()
    assert "\n".join(section) in results
