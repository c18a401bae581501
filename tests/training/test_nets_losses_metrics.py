"""GALA, the ClickMe loss and the alignment metrics, on small tensors."""

import numpy as np
import pytest
import torch
from scipy import stats

from annotations.maps import downsample_area
from training import losses, metrics
from training.nets.gala import GALA, _FusedGALA, _GatedCombine
from training.nets.resnets import architectures, build_net


def test_gala_matches_the_formula():
    torch.manual_seed(0)
    module = GALA(8, reduction=4)
    with torch.no_grad():  # distinct gains, so a and m cannot be swapped unnoticed
        module.add_gain.copy_(torch.rand(8) * 2)
        module.mul_gain.copy_(torch.rand(8) * 2 - 1)
    x = torch.randn(2, 8, 5, 5)
    y, amap = module(x)
    g = module.global_path(x)[:, :, None, None]
    l = module.local_path(x)  # noqa: E741
    a = torch.sigmoid(module.add_gain[None, :, None, None] * (g + l) + module.mul_gain[None, :, None, None] * g * l)
    assert torch.allclose(y, a * x) and torch.allclose(amap, a.pow(2).mean(1))


def _outputs_and_grads(module, x, reference, with_map=True):
    x = x.detach().clone().requires_grad_(True)
    module.zero_grad(set_to_none=True)
    y, amap = module.reference_forward(x) if reference else module(x)
    weights = torch.linspace(-1, 1, y[0].numel()).view_as(y[0])
    ((y * weights).sum() + (3.0 * amap.square().sum() if with_map else 0.0)).backward()
    return [y.detach(), amap.detach(), x.grad] + [p.grad for p in module.parameters()]


@pytest.mark.parametrize("squash", ["sigmoid", "tanh"])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    "gala_settings", [{}, {"local_5x5": True, "global_relu": True, "gain_init": "variance_scaling"}]
)
def test_the_fused_gala_equals_the_reference_ops_forward_and_backward(squash, channels_last, gala_settings):
    torch.manual_seed(1)
    module = GALA(24, squash=squash, **gala_settings)
    x = torch.randn(3, 24, 6, 7)
    if channels_last:
        module, x = module.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    fused, reference = _outputs_and_grads(module, x, False), _outputs_and_grads(module, x, True)
    assert len(fused) == len(reference) == 3 + len(list(module.parameters()))
    for got, want in zip(fused, reference, strict=True):
        assert got.shape == want.shape
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), (got - want).abs().max()


def test_the_fused_combination_passes_gradcheck():
    torch.manual_seed(0)
    for squash in ("sigmoid", "tanh"):
        inputs = (
            torch.randn(2, 5, 3, 4, dtype=torch.double, requires_grad=True),
            torch.randn(2, 5, dtype=torch.double, requires_grad=True),
            torch.randn(2, 1, 3, 4, dtype=torch.double, requires_grad=True),
            torch.randn(5, dtype=torch.double, requires_grad=True),
            torch.randn(5, dtype=torch.double, requires_grad=True),
        )
        assert torch.autograd.gradcheck(lambda *t, s=squash: _GatedCombine.apply(*t, s), inputs)


@pytest.mark.parametrize("squash", ["sigmoid", "tanh"])
@pytest.mark.parametrize("global_relu", [False, True])
def test_the_whole_module_fused_gala_passes_gradcheck(squash, global_relu):
    """_FusedGALA's hand-written backward against finite differences, for x and every parameter."""
    torch.manual_seed(0)
    module = GALA(8, squash=squash, global_relu=global_relu).double()
    with torch.no_grad():  # distinct gains, and a global path whose ReLU is active for some channels
        module.add_gain.copy_(torch.rand(8) * 2)
        module.mul_gain.copy_(torch.rand(8) * 2 - 1)
        module.global_path[4].bias.copy_(torch.randn(8))
    x = torch.randn(2, 8, 3, 4, dtype=torch.double, requires_grad=True)
    names = [name for name, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]

    def run(x, *values):
        return torch.func.functional_call(module, dict(zip(names, values, strict=True)), (x,))

    assert module._whole_module_fusable(x)
    assert torch.autograd.gradcheck(run, (x, *params))


def test_the_fused_gala_backward_without_the_map_equals_the_reference():
    """lambda 0: the map takes no part in the loss, so its gradient is None, not zeros."""
    torch.manual_seed(2)
    module, x = GALA(12), torch.randn(2, 12, 4, 5)
    fused, reference = (_outputs_and_grads(module, x, ref, with_map=False) for ref in (False, True))
    for got, want in zip(fused, reference, strict=True):
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_whole_module_fused_path_is_taken_exactly_where_it_applies(monkeypatch):
    """NCHW-contiguous float on CPU without autocast and without the 5 x 5 conv: _FusedGALA; the
    other cases keep _GatedCombine (channels_last, bf16 autocast, the 5 x 5 conv)."""
    calls = []
    real = _FusedGALA.apply
    monkeypatch.setattr(_FusedGALA, "apply", lambda *a: calls.append(1) or real(*a))
    x = torch.randn(2, 16, 5, 5)
    GALA(16)(x)
    assert len(calls) == 1
    GALA(16, local_5x5=True)(x)
    GALA(16).to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        GALA(16)(x)
    assert len(calls) == 1


def test_a_gala_net_trains_the_same_with_the_fused_and_the_reference_gala():
    torch.manual_seed(0)
    net = build_net("gala_resnet_tiny", 4, stages=("layer2", "layer3"), local_5x5=True)
    images, targets = torch.randn(4, 3, 48, 48), torch.tensor([0, 1, 2, 3])
    clickme, has_map = torch.rand(4, 48, 48), torch.tensor([True, True, False, True])
    results = []
    for fused in (True, False):
        for module in net.modules():
            if isinstance(module, GALA):
                module.fused = fused
        net.zero_grad(set_to_none=True)
        logits, maps = net(images)
        loss, _ce, _att = losses.clickme_loss(logits, targets, maps, clickme, has_map, 10.0)
        loss.backward()
        results.append([loss.detach(), logits.detach(), *maps] + [p.grad.clone() for p in net.parameters()])
    for got, want in zip(*results, strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6), (got - want).abs().max()


def test_the_fused_gala_keeps_dtypes_under_bfloat16_autocast():
    torch.manual_seed(0)
    module = GALA(16)
    x = torch.randn(2, 16, 5, 5)
    results = []
    for reference in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results.append(_outputs_and_grads(module, x, reference))
    for got, want in zip(*results, strict=True):
        assert got.dtype == want.dtype
        assert torch.allclose(got.float(), want.float(), rtol=0.05, atol=0.02)


def test_gala_settings_tanh_and_the_5x5_conv():
    module = GALA(8, squash="tanh", local_5x5=True)
    assert any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (5, 5) for m in module.local_path)
    _y, amap = module(torch.randn(1, 8, 6, 6))
    assert amap.shape == (1, 6, 6)
    with pytest.raises(ValueError):
        GALA(8, squash="relu")


def test_gala_resnet50_gates_every_block_of_layer3():
    net = build_net("gala_resnet50", 10)
    logits, maps = net(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, 10)
    assert [tuple(m.shape[-2:]) for m in maps] == [(28, 28)] + [(14, 14)] * 5
    assert [b.block.conv1.in_channels for b in net.gated_blocks()] == [512] + [1024] * 5


@pytest.mark.parametrize("arch", ["resnet18", "resnet_tiny", "gala_resnet_tiny", "se_resnet_tiny"])
def test_every_small_net_returns_logits_and_maps(arch):
    logits, maps = build_net(arch, 4, stages=("layer2", "layer3"))(torch.randn(2, 3, 64, 64))
    assert logits.shape == (2, 4)
    assert (len(maps) > 0) == (not arch.startswith("resnet"))


def test_unknown_architecture_is_refused():
    assert "gala_resnet50" in architectures()
    with pytest.raises(ValueError, match="unknown architecture"):
        build_net("vgg16", 3)


def naive_distance(a, c):
    a, c = a.flatten(), c.flatten()
    return float(((a / a.norm() - c / c.norm()) ** 2).sum())


def test_clickme_loss_is_ce_plus_lambda_times_mean_layer_distance():
    torch.manual_seed(0)
    logits, targets = torch.randn(3, 5), torch.tensor([0, 1, 2])
    maps_a = [torch.rand(3, 4, 4), torch.rand(3, 2, 2)]
    clickme = torch.rand(3, 8, 8)
    has_map = torch.tensor([True, False, True])
    loss, ce, attention = losses.clickme_loss(logits, targets, maps_a, clickme, has_map, lambda_clickme=2.0)
    expected_layers = []
    for a in maps_a:
        c = torch.nn.functional.interpolate(clickme[:, None], size=a.shape[-2:], mode="bilinear", align_corners=False)[
            :, 0
        ]
        expected_layers.append(np.mean([naive_distance(a[i], c[i]) for i in (0, 2)]))
    assert ce.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, targets).item())
    assert attention.item() == pytest.approx(np.mean(expected_layers), rel=1e-5)
    assert loss.item() == pytest.approx(ce.item() + 2.0 * attention.item(), rel=1e-6)


def test_images_without_maps_add_nothing_to_the_attention_term():
    a = [torch.rand(2, 4, 4, requires_grad=True)]
    _loss, _ce, attention = losses.clickme_loss(
        torch.randn(2, 3), torch.tensor([0, 1]), a, torch.rand(2, 8, 8), torch.tensor([False, False]), 1.0
    )
    assert attention.item() == 0.0


def test_attention_that_matches_the_map_has_zero_distance_and_rho_one():
    the_map = torch.zeros(1, 64, 64)
    the_map[0, 10:30, 20:40] = torch.linspace(0.1, 1, 20)[:, None]
    assert losses.attention_distance(the_map.clone(), the_map, torch.tensor([True])).item() == pytest.approx(
        0, abs=1e-10
    )
    rho = metrics.attention_alignment(the_map.clone(), the_map.numpy())
    assert rho[0] == pytest.approx(1.0)


def test_saliency_is_the_max_abs_input_gradient_of_the_true_logit():
    net = build_net("resnet_tiny", 3).eval()
    images, targets = torch.randn(2, 3, 32, 32), torch.tensor([1, 2])
    saliency = metrics.saliency_maps(net, images, targets)
    x = images[:1].clone().requires_grad_(True)
    net(x)[0][0, 1].backward()
    assert torch.allclose(saliency[0], x.grad[0].abs().amax(0), atol=1e-6)
    rhos = metrics.saliency_alignment(saliency, np.random.default_rng(0).random((2, 64, 64)))
    assert len(rhos) == 2 and all(-1 <= r <= 1 for r in rhos)


def test_alignment_uses_spearman_at_64_and_normalises_by_the_ceiling():
    rng = np.random.default_rng(0)
    s, m = rng.random((128, 128)), rng.random((128, 128))
    rho = metrics.saliency_alignment(torch.tensor(s[None]), m[None])[0]
    assert rho == pytest.approx(
        stats.spearmanr(downsample_area(s, 64).ravel(), downsample_area(m, 64).ravel()).statistic
    )
    assert metrics.normalised_alignment([0.2, 0.4], 0.6) == pytest.approx(0.5)
    assert metrics.top_k_correct(torch.tensor([[0.1, 0.9, 0.0]]), torch.tensor([0]), 2).item()
