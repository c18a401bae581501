"""game/partner.py frozen_for_inference: the partner runs as a frozen TorchScript graph (no GIL between
its operators, batch norms folded) only when that graph gives the network's own answers."""

import numpy as np
import torch

from game.partner import PartnerRuntime, PartnerSpec, frozen_for_inference
from training.partner_export import partner_export


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(8)
        self.head = torch.nn.Linear(8, 5)

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.conv(x))).mean((2, 3)))


class BatchBakedNet(SmallNet):
    """Scales by the batch size read as a Python int: a trace bakes in the example's batch (2)."""

    def forward(self, x):
        return super().forward(x) * int(x.shape[0])


def eval_net(cls):
    torch.manual_seed(0)
    net = cls()
    net.norm.running_mean.uniform_(-1, 1)
    net.norm.running_var.uniform_(0.5, 2)
    return net.eval()


def test_a_traceable_network_is_frozen_and_answers_as_the_network_does():
    net = eval_net(SmallNet)
    graph, frozen = frozen_for_inference(net, 16)
    assert frozen and isinstance(graph, torch.jit.ScriptModule)
    views = torch.rand(4, 3, 16, 16)
    with torch.inference_mode():
        assert torch.allclose(graph(views), net(views), atol=1e-5)


def test_a_graph_that_would_answer_otherwise_is_refused_and_the_network_runs_eagerly(caplog):
    net = eval_net(BatchBakedNet)
    module, frozen = frozen_for_inference(net, 16)
    assert not frozen and module is net
    assert "runs eagerly" in caplog.text


def test_the_runtime_of_an_exported_partner_is_frozen_and_gives_the_eager_probabilities(tmp_path):
    net = eval_net(SmallNet)
    path = partner_export(
        net,
        tmp_path / "small.pt2",
        categories=[{"wnid": f"n{k:08d}", "name": f"c{k}"} for k in range(5)],
        input_size=16,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        architecture="small",
    )
    spec = PartnerSpec("exported", str(path), 5, 16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    frozen, eager = PartnerRuntime(spec), PartnerRuntime(spec, freeze=False)
    assert frozen.frozen and not eager.frozen
    views = np.random.default_rng(0).random((3, 20, 20, 3), dtype=np.float32)  # resized to 16 by predict
    np.testing.assert_allclose(frozen.predict(views), eager.predict(views), atol=1e-6)
    assert frozen.submit(views[0]).result(timeout=10).shape == (5,)  # the forward thread runs the graph
    frozen.close()
    eager.close()
