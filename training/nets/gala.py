"""The GALA module: global-and-local attention (docs/SCIENCE.md section 3; Linsley et al. 2019). Pure torch."""

import math
from typing import cast

import torch
from torch import nn

# gala_tpu's tf.variance_scaling_initializer() (scale 1, fan_in, truncated normal cut at 2 sigma and
# rescaled by this constant so that the variance is scale / fan_in) on a gain of shape [1, 1, 1, C]:
# fan_in = 1, so unit variance.
_TRUNCATED_NORMAL_STD = 0.87962566103423978


def variance_scaling_(tensor, fan_in=1):
    """tf.variance_scaling_initializer()'s draw (TF >= 1.12 semantics): N(0, s) truncated at +-2s
    with s = sqrt(1 / fan_in) / 0.8796..., so the values have variance 1 / fan_in."""
    std = math.sqrt(1.0 / fan_in) / _TRUNCATED_NORMAL_STD
    with torch.no_grad():
        return nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-2 * std, b=2 * std)


class _GatedCombine(torch.autograd.Function):
    """(A * X, mean_c A^2) with A = squash(a g + (a + m g) l), forward and backward by hand.

    The same maths as `GALA.reference_forward`, in fewer passes over the full-size (N, C, H, W)
    tensors and with fewer of them alive: the squash runs in place, its backward is one fused
    kernel, and the reductions the broadcasts need in backward (over H x W for g, a and m, over C
    for l) are batched matrix products rather than full-size products followed by sums.
    x (N, C, H, W) in either memory format; g (N, C); l (N, 1, H, W); a, m (C,).
    """

    @staticmethod
    def forward(ctx, x, g, l, a, m, squash):  # noqa: E741 (the paper's name)
        c = g.shape[1]
        coef = torch.addcmul(a, m, g)  # a + m g, (N, C)
        z = torch.addcmul((a * g)[:, :, None, None], coef[:, :, None, None], l)
        attention = z.sigmoid_() if squash == "sigmoid" else z.tanh_()
        attention_map = torch.linalg.vector_norm(attention, dim=1).square_().div_(c)
        ctx.squash = squash
        ctx.save_for_backward(x, g, l, a, m, attention, coef)
        return attention * x, attention_map

    @staticmethod
    def backward(ctx, grad_y, grad_map):
        x, g, l, a, m, attention, coef = ctx.saved_tensors  # noqa: E741
        c = g.shape[1]
        need_x, need_g, need_l, need_a, need_m = ctx.needs_input_grad[:5]
        grad_x = grad_y * attention if need_x else None
        grad_attention = grad_y * x
        if grad_map is not None:
            grad_attention.addcmul_(attention, grad_map[:, None].mul(2.0 / c))
        if ctx.squash == "sigmoid":
            grad_z = torch.ops.aten.sigmoid_backward(grad_attention, attention)
        else:
            grad_z = torch.ops.aten.tanh_backward(grad_attention, attention)
        del grad_attention
        flat_z = grad_z.flatten(2)  # (N, C, HW): a view in NCHW and in channels_last alike
        flat_l = l.flatten(2).to(flat_z.dtype)  # (N, 1, HW)
        sum_z = flat_z.sum(2)  # sum over H x W of dz, (N, C)
        sum_zl = torch.bmm(flat_z, flat_l.transpose(1, 2))[:, :, 0]  # sum over H x W of dz l
        grad_l = None
        if need_l:  # sum over C of dz (a + m g)
            grad_l = torch.bmm(coef.to(flat_z.dtype)[:, None, :], flat_z).view_as(l)
        del grad_z, flat_z
        sum_z, sum_zl = sum_z.to(g.dtype), sum_zl.to(g.dtype)
        grad_g = torch.addcmul(a * sum_z, m, sum_zl) if need_g else None  # a S + m P
        grad_a = (g * sum_z + sum_zl).sum(0) if need_a else None  # dz (g + l)
        grad_m = (g * sum_zl).sum(0) if need_m else None  # dz g l
        return grad_x, grad_g, grad_l, grad_a, grad_m, None


class _FusedGALA(torch.autograd.Function):
    """The whole module (global MLP, local 1 x 1 path, combination and map) forward and backward by
    hand, for an NCHW-contiguous float x on CPU without autocast.

    The combination is `_GatedCombine`'s; what this adds is x's gradient in one buffer. Autograd
    would give x three gradients (through the combination, the local path's first conv and the
    global path's mean) and add them up, each a full-size (N, C, H, W) tensor, the mean's made by a
    broadcasting division: here the global and combination terms are one addcmul and the local
    path's product accumulates into it (baddbmm_). The combination's gradient is worked in one
    buffer (out= and in-place ops: a fresh full-size tensor costs more than the op writing it) and
    its two H x W reductions are one batched product. x (N, C, H, W); the weights as the Linear and
    1 x 1 Conv2d layers hold them, the convs' flattened to (out, in); a, m (C,)."""

    @staticmethod
    def forward(ctx, x, w_g1, b_g1, w_g2, b_g2, w_l1, b_l1, w_l2, b_l2, a, m, squash, global_relu):
        n, c, h, w = x.shape
        xf = x.view(n, c, h * w)
        pooled = xf.mean(2)  # (N, C)
        hidden_g = torch.addmm(b_g1, pooled, w_g1.t()).relu_()
        g = torch.addmm(b_g2, hidden_g, w_g2.t())
        if global_relu:
            g = g.relu_()
        hidden_l = torch.baddbmm(b_l1[None, :, None], w_l1.expand(n, -1, -1), xf).relu_()  # (N, C/r, HW)
        l = torch.baddbmm(b_l2[None, :, None], w_l2.expand(n, -1, -1), hidden_l)  # noqa: E741 (N, 1, HW)
        coef = torch.addcmul(a, m, g)  # a + m g, (N, C)
        attention = torch.addcmul((a * g)[:, :, None], coef[:, :, None], l)
        attention = attention.sigmoid_() if squash == "sigmoid" else attention.tanh_()
        attention_map = torch.linalg.vector_norm(attention, dim=1).square_().div_(c).view(n, h, w)
        ctx.squash, ctx.global_relu = squash, global_relu
        ctx.set_materialize_grads(False)  # an unused map (lambda 0) costs its backward nothing
        ctx.save_for_backward(x, pooled, hidden_g, g, hidden_l, l, attention, coef, w_g1, w_g2, w_l1, w_l2, a, m)
        return (attention * xf).view(n, c, h, w), attention_map

    @staticmethod
    def backward(ctx, grad_y, grad_map):
        x, pooled, hidden_g, g, hidden_l, l, attention, coef, w_g1, w_g2, w_l1, w_l2, a, m = ctx.saved_tensors  # noqa: E741
        n, c, h, w = x.shape
        xf = x.view(n, c, h * w)
        if grad_y is None:
            grad_y = torch.zeros_like(x)
        gyf = grad_y.contiguous().view(n, c, h * w)
        grad_z = torch.mul(gyf, xf)  # dL/dA, then dL/dz in the same buffer
        if grad_map is not None:
            grad_z.addcmul_(attention, grad_map.reshape(n, 1, h * w), value=2.0 / c)
        if ctx.squash == "sigmoid":
            torch.ops.aten.sigmoid_backward.grad_input(grad_z, attention, grad_input=grad_z)
        else:
            torch.ops.aten.tanh_backward.grad_input(grad_z, attention, grad_input=grad_z)
        # sums over H x W of dz and of dz l in one product: (N, C, HW) @ (N, HW, 2)
        sums = torch.bmm(grad_z, torch.cat((torch.ones_like(l), l), 1).transpose(1, 2))
        sum_z, sum_zl = sums[:, :, 0], sums[:, :, 1]
        grad_l = torch.bmm(coef[:, None, :], grad_z)  # sum over C of dz (a + m g), (N, 1, HW)
        del grad_z
        grad_a = (g * sum_z + sum_zl).sum(0)
        grad_m = (g * sum_zl).sum(0)
        grad_g = torch.addcmul(a * sum_z, m, sum_zl)  # (N, C)
        # the local path
        grad_w_l2 = torch.bmm(grad_l, hidden_l.transpose(1, 2)).sum(0)  # (1, C/r)
        grad_b_l2 = grad_l.sum((0, 2))
        grad_hidden_l = torch.bmm(w_l2.t().expand(n, -1, -1), grad_l)
        grad_hidden_l = torch.ops.aten.threshold_backward(grad_hidden_l, hidden_l, 0)
        grad_w_l1 = torch.bmm(grad_hidden_l, xf.transpose(1, 2)).sum(0)  # (C/r, C)
        grad_b_l1 = grad_hidden_l.sum((0, 2))
        # the global path
        if ctx.global_relu:
            grad_g = torch.ops.aten.threshold_backward(grad_g, g, 0)
        grad_w_g2, grad_b_g2 = grad_g.t() @ hidden_g, grad_g.sum(0)
        grad_hidden_g = torch.ops.aten.threshold_backward(grad_g @ w_g2, hidden_g, 0)
        grad_w_g1, grad_b_g1 = grad_hidden_g.t() @ pooled, grad_hidden_g.sum(0)
        grad_pooled = grad_hidden_g @ w_g1  # (N, C)
        # x's gradient: the mean's share and the combination's in one pass, the local path's added in place
        grad_x = torch.addcmul(grad_pooled.div_(h * w)[:, :, None], gyf, attention)
        grad_x.baddbmm_(w_l1.t().expand(n, -1, -1), grad_hidden_l)
        return (
            grad_x.view(n, c, h, w),
            grad_w_g1,
            grad_b_g1,
            grad_w_g2,
            grad_b_g2,
            grad_w_l1,
            grad_b_l1,
            grad_w_l2,
            grad_b_l2,
            grad_a,
            grad_m,
            None,
            None,
        )


class GALA(nn.Module):
    """A = squash(a * (g + l) + m * (g * l)); returns (A * X, attention map mean_c(A^2)).

    global g = W2 relu(W1 GAP(X)) (C -> C/r -> C), followed by a ReLU when `global_relu` (gala_tpu);
    local l = conv1x1(relu(conv1x1(X))) (C -> C/r -> 1), with the authors' v2 extra 5 x 5 conv
    (C/r -> C/r, ReLU) between them when `local_5x5`. The gains a and m start at ones, or at
    gala_tpu's variance-scaling draws when `gain_init="variance_scaling"` (training/config.py,
    GALA_PRESETS). `use_local=False` leaves the global (squeeze-and-excitation) path alone: the SE
    baseline. `fused` (default), on CPU: the whole module by hand (_FusedGALA) for an NCHW float32/64
    input without autocast and without the 5 x 5 conv, else the combination by hand (_GatedCombine);
    False, or on CUDA: the plain autograd ops of `reference_forward` (the same numbers, tested).
    """

    def __init__(
        self,
        channels,
        reduction=4,
        squash="sigmoid",
        local_5x5=False,
        use_local=True,
        global_relu=False,
        gain_init="ones",
    ):
        super().__init__()
        hidden = max(channels // reduction, 1)
        layers = [
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        ]
        if global_relu:
            layers.append(nn.ReLU(inplace=True))
        self.global_path = nn.Sequential(*layers)
        self.use_local = use_local
        if use_local:
            layers = [nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True)]
            if local_5x5:
                layers += [nn.Conv2d(hidden, hidden, 5, padding=2), nn.ReLU(inplace=True)]
            layers += [nn.Conv2d(hidden, 1, 1)]
            self.local_path = nn.Sequential(*layers)
            self.add_gain = nn.Parameter(torch.ones(channels))  # a
            self.mul_gain = nn.Parameter(torch.ones(channels))  # m
            if gain_init == "variance_scaling":
                variance_scaling_(self.add_gain)
                variance_scaling_(self.mul_gain)
            elif gain_init != "ones":
                raise ValueError(f"gain_init must be 'ones' or 'variance_scaling', not {gain_init!r}")
        if squash not in ("sigmoid", "tanh"):
            raise ValueError(f"squash must be 'sigmoid' or 'tanh', not {squash!r}")
        self.squash_name = squash
        self.squash = torch.sigmoid if squash == "sigmoid" else torch.tanh
        self.global_relu = global_relu
        self.fused = True

    def forward(self, x):
        # On CPU the fused path; on CUDA (cuDNN convs, bf16 autocast) the reference ops, unchanged.
        if not (self.fused and self.use_local and x.device.type == "cpu"):
            return self.reference_forward(x)
        if self._whole_module_fusable(x):
            return self._whole_module_fused(x)
        g = self.global_path(x)
        l = self._local_as_matmuls(x) if x.is_contiguous() else self.local_path(x)  # noqa: E741
        a, m = self.add_gain.to(g.dtype), self.mul_gain.to(g.dtype)
        return _GatedCombine.apply(x, g, l, a, m, self.squash_name)

    def _whole_module_fusable(self, x):
        """_FusedGALA's case: NCHW-contiguous float x, no autocast, the local path without the 5 x 5 conv."""
        return (
            x.is_contiguous()
            and x.dtype in (torch.float32, torch.float64)
            and x.dtype == self.add_gain.dtype
            and len(self.local_path) == 3
            and not torch.is_autocast_enabled("cpu")
        )

    def _whole_module_fused(self, x):
        first_g, second_g = cast(nn.Linear, self.global_path[2]), cast(nn.Linear, self.global_path[4])
        first_l, last_l = cast(nn.Conv2d, self.local_path[0]), cast(nn.Conv2d, self.local_path[-1])
        return _FusedGALA.apply(
            x,
            first_g.weight,
            first_g.bias,
            second_g.weight,
            second_g.bias,
            first_l.weight.flatten(1),
            first_l.bias,
            last_l.weight.flatten(1),
            last_l.bias,
            self.add_gain,
            self.mul_gain,
            self.squash_name,
            self.global_relu,
        )

    def _local_as_matmuls(self, x):
        """local_path(x) for an NCHW-contiguous x, its 1 x 1 convs as batched matrix products over
        the (N, C, H*W) view: the same weights and sums, without oneDNN's reorders of NCHW tensors
        (on 2 CPU threads about a third less time than the convs, forward and backward)."""
        n, _c, h, w = x.shape
        first, last = cast(nn.Conv2d, self.local_path[0]), cast(nn.Conv2d, self.local_path[-1])
        assert first.bias is not None and last.bias is not None  # built with bias=True above
        hidden = torch.baddbmm(first.bias[None, :, None], first.weight.flatten(1).expand(n, -1, -1), x.flatten(2))
        hidden = hidden.relu_()
        if len(self.local_path) > 3:  # the 5 x 5 conv and its ReLU
            hidden = self.local_path[3](self.local_path[2](hidden.view(n, -1, h, w))).flatten(2)
        return torch.baddbmm(last.bias[None, :, None], last.weight.flatten(1).expand(n, -1, -1), hidden).view(
            n, 1, h, w
        )

    def reference_forward(self, x):
        """The module's maths in plain autograd ops (what the fused path is tested against)."""
        g = self.global_path(x)[:, :, None, None]
        if self.use_local:
            l = self.local_path(x)  # noqa: E741 (the paper's name)
            a = self.add_gain[None, :, None, None].to(g.dtype)
            m = self.mul_gain[None, :, None, None].to(g.dtype)
            # a * (g + l) + m * (g * l) = a g + (a + m g) l: one full-size tensor instead of five.
            attention = self.squash(torch.addcmul(a * g, a + m * g, l))
        else:
            attention = self.squash(g).expand_as(x)
        # docs/SCIENCE.md section 4: the layer's attention map is the channel mean of A^2.
        attention_map = torch.linalg.vector_norm(attention, dim=1).square() / attention.shape[1]
        return attention * x, attention_map


class GatedBlock(nn.Module):
    """A residual block whose input is gated by an attention module (GALA or SE); returns
    (the block's output, the attention map)."""

    def __init__(self, attention, block):
        super().__init__()
        self.attention = attention
        self.block = block

    def forward(self, x):
        gated, attention_map = self.attention(x)
        return self.block(gated), attention_map
