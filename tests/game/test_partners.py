"""Partners: torchvision weights files registered by the operator, exported artifacts, loaded once."""

import json

import pytest
import torch
import torchvision
from django.core.management import CommandError, call_command

from game import partner as partner_runtime
from game.models import Partner
from game.services import partner_activate


def register(*arguments):
    call_command("register_partner", *arguments)


@pytest.fixture
def resnet_weights(tmp_path, categories):
    """A resnet18 state dict with 4 outputs and a class index mapping outputs to wnids (2 known)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=4)
    weights = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), weights)
    index = {
        "0": ["n99999999", "unknown thing"],
        "1": [categories[0].wnid, "c0"],
        "2": [categories[3].wnid, "c3"],
        "3": ["n88888888", "other"],
    }
    class_index = tmp_path / "imagenet_class_index.json"
    class_index.write_text(json.dumps(index))
    return weights, class_index, model


def test_register_partner_maps_outputs_to_categories_by_wnid(resnet_weights, categories, capsys):
    weights, class_index, _model = resnet_weights
    register(
        "--weights",
        str(weights),
        "--arch",
        "resnet18",
        "--class-index",
        str(class_index),
        "--name",
        "rn18",
        "--activate",
        "--force",  # no image is active here: promotion refuses a partner with nothing to play
    )
    partner = Partner.objects.get(name="rn18")
    assert partner.is_active and partner.architecture == "resnet18"
    assert partner.category_mapping == [
        [None, "unknown thing"],
        [categories[0].id, "category 0"],
        [categories[3].id, "category 3"],
        [None, "other"],
    ]
    assert "4 outputs, 2 mapped" in capsys.readouterr().out


def test_a_registered_torchvision_partner_answers_like_the_network(resnet_weights, categories):
    weights, class_index, model = resnet_weights
    register("--weights", str(weights), "--arch", "resnet18", "--class-index", str(class_index))
    partner = Partner.objects.get()
    spec = partner_runtime.PartnerSpec(
        "resnet18", partner.weights_file, 4, 224, partner_runtime.IMAGENET_MEAN, partner_runtime.IMAGENET_STD
    )
    runtime = partner_runtime.runtime_for(partner.pk, spec)
    views = torch.rand(2, 224, 224, 3).numpy()
    expected = torch.softmax(
        model.eval()((torch.from_numpy(views).permute(0, 3, 1, 2) - runtime.mean) / runtime.std), 1
    )
    assert torch.allclose(torch.from_numpy(runtime.predict(views)), expected.detach(), atol=1e-5)
    assert partner_runtime.runtime_for(partner.pk, spec) is runtime  # loaded once per process


@pytest.mark.parametrize("content", [b"not a checkpoint at all", None])
def test_a_file_that_is_not_a_checkpoint_is_refused_and_nothing_registered(
    tmp_path, categories, content, resnet_weights
):
    _weights, class_index, _model = resnet_weights
    bad = tmp_path / "bad.pth"
    if content is None:
        torch.save(torchvision.models.resnet18(num_classes=7).state_dict(), bad)  # wrong number of outputs
    else:
        bad.write_bytes(content)
    with pytest.raises(CommandError, match="not registered"):
        register("--weights", str(bad), "--arch", "resnet18", "--class-index", str(class_index))
    with pytest.raises(CommandError, match="not registered"):
        register("--weights", str(bad))
    assert not Partner.objects.exists()


def test_activating_a_partner_deactivates_the_others(ranked_partner, resnet_weights, categories):
    weights, class_index, _model = resnet_weights
    register("--weights", str(weights), "--arch", "resnet18", "--class-index", str(class_index), "--name", "second")
    second = Partner.objects.get(name="second")
    partner_activate(partner=second)
    assert list(Partner.objects.filter(is_active=True)) == [second]
