"""The trainer on tiny synthetic data: seeded, checkpoints every epoch, resumes after a crash."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from game.synthetic_benchmark import scene
from training.config import ConfigError, TrainConfig, config_from_dict
from training.datasets import ClickMeDataset, Sample
from training.trainer import TrainingCancelled, lr_factor, param_groups, train

TINY = TrainConfig(
    arch="gala_resnet_tiny",
    lambda_clickme=1.0,
    epochs=2,
    batch_size=4,
    image_size=32,
    seed=3,
    optimizer="adamw",
    lr=1e-3,
    warmup_epochs=0,
    max_saliency_images=4,
)


@pytest.fixture(scope="module")
def tiny_set():
    rng = np.random.default_rng(0)
    samples = []
    for k in range(8):
        image, mask = scene(rng, k % 2)
        samples.append(Sample(image, k % 2, mask.astype(np.float32) if k % 4 else None))
    return ClickMeDataset(samples, 32, augment=True)


def test_crops_and_flips_move_image_and_map_together():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[10:20, 40:50] = 255
    the_map = (image[..., 0] > 0).astype(np.float32)
    dataset = ClickMeDataset([Sample(image, 0, the_map)], 32, augment=True)

    def centroid(weights):
        ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
        return torch.stack([(weights * ys).sum(), (weights * xs).sum()]) / weights.sum()

    centres = set()
    for _ in range(20):
        x, _label, m, has_map = dataset[0]
        brightness = (x[0] - x[0].min()).clamp_min(0)
        assert has_map and torch.dist(centroid(brightness), centroid(m)) < 1.0
        centres.add(tuple(centroid(m).round().tolist()))
    assert len(centres) > 3  # the crops and flips really moved things


def test_same_seed_same_weights(tiny_set):
    a, _ = train(TINY, tiny_set, None, 2, log=lambda *x: None)
    b, _ = train(TINY, tiny_set, None, 2, log=lambda *x: None)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_crashed_run_resumes_from_its_last_checkpoint(tiny_set, tmp_path):
    config = replace(TINY, epochs=3)
    calls = {"n": 0}

    def crash_in_epoch_three():
        calls["n"] += 1
        return calls["n"] > 2 * 2  # 2 steps per epoch: stop inside the third epoch

    with pytest.raises(TrainingCancelled):
        train(config, tiny_set, None, 2, checkpoint_dir=tmp_path, should_stop=crash_in_epoch_three, log=lambda *x: None)
    messages = []
    _model, history = train(config, tiny_set, None, 2, checkpoint_dir=tmp_path, log=messages.append)
    assert messages == [f"resumed from {tmp_path / 'last.pt'} after epoch 2"]
    assert [r["epoch"] for r in history] == [1, 2, 3]


@pytest.fixture
def deterministic():
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("num_workers", [0, 2])
def test_an_interrupted_and_resumed_run_ends_with_exactly_the_weights_of_an_uninterrupted_one(
    tiny_set, tmp_path, deterministic, num_workers
):
    # Augmentation draws from torch's global RNG (num_workers 0) or from worker seeds drawn from the
    # loader's generator (2): both, and the shuffle, must continue as if the run had never stopped.
    config = replace(TINY, epochs=4, num_workers=num_workers)
    val_set = ClickMeDataset(tiny_set.samples[:4], 32, augment=False)
    whole, whole_history = train(config, tiny_set, val_set, 2, log=lambda *x: None)
    calls = {"n": 0}

    def crash_in_epoch_three():
        calls["n"] += 1
        return calls["n"] > 2 * 2  # 2 steps per epoch: stop inside the third epoch

    with pytest.raises(TrainingCancelled):
        train(config, tiny_set, val_set, 2, checkpoint_dir=tmp_path, should_stop=crash_in_epoch_three, log=print)
    messages = []
    resumed, history = train(config, tiny_set, val_set, 2, checkpoint_dir=tmp_path, log=messages.append)
    assert messages == [f"resumed from {tmp_path / 'last.pt'} after epoch 2"]
    assert [r["train_loss"] for r in history] == [r["train_loss"] for r in whole_history]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_every_epoch_shuffles_differently_and_each_order_depends_on_the_seed_and_epoch_alone():
    from training.trainer import epoch_seed

    seeds = {epoch_seed(3, epoch) for epoch in range(50)}
    assert len(seeds) == 50 and epoch_seed(3, 7) == epoch_seed(3, 7) != epoch_seed(4, 7)
    assert epoch_seed(3, 7, rank=1) != epoch_seed(3, 7, rank=0)


def test_config_knows_exactly_the_architectures_and_stages_the_nets_build():
    from training import config
    from training.nets import resnets

    assert resnets.STAGES is config.STAGES and resnets.architectures is config.architectures  # one definition
    assert tuple(resnets.BACKBONES) == config.BACKBONES
    for arch in config.architectures():
        resnets.build_net(arch, 2)  # every name the config accepts builds


def test_no_weight_decay_on_norms_biases_and_attention_gains():
    from training.trainer import net_for

    net = net_for(TINY, 2)
    groups = param_groups(net, 1e-4)
    no_decay = {id(p) for p in groups[1]["params"]}
    gala = net.gated_blocks()[0].attention
    assert id(gala.add_gain) in no_decay and id(gala.mul_gain) in no_decay
    assert all(p.ndim > 1 for p in groups[0]["params"])


def test_learning_rate_warms_up_then_follows_the_schedule():
    config = replace(TINY, epochs=10, warmup_epochs=2)
    assert lr_factor(config, 0.0) < 0.01 and lr_factor(config, 1.0) == pytest.approx(0.5, abs=1e-3)
    assert lr_factor(config, 2.0) == pytest.approx(1.0) and lr_factor(config, 10.0) == pytest.approx(0.0, abs=1e-9)
    step = replace(TINY, epochs=90, warmup_epochs=5, schedule="step")
    assert [round(lr_factor(step, e), 6) for e in (10, 30, 60, 85)] == [1.0, 0.1, 0.01, 0.001]


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"colour": 1}, "colour"),
        ({"epochs": "ten"}, "epochs"),
        ({"arch": "vgg16"}, "arch"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 100}, "batch_size"),
        ({"lambda_clickme": True}, "lambda_clickme"),
        ({"stages": ["layer9"]}, "stages"),
        ({"squash": "relu"}, "squash"),
    ],
)
def test_bad_configs_name_the_key(raw, key):
    base = {"arch": "gala_resnet18", "lambda_clickme": 1.0, "epochs": 1, "batch_size": 8, "image_size": 64, "seed": 0}
    with pytest.raises(ConfigError) as error:
        config_from_dict({**base, **raw}, n_train_images=50)
    assert error.value.key == key


@pytest.mark.parametrize("raw, key", [({"stages": ["layer3", "layer3"]}, "stages"), ({"momentum": 0.0}, "momentum")])
def test_configs_that_would_crash_training_are_refused(raw, key):
    base = {"arch": "gala_resnet18", "lambda_clickme": 1.0, "epochs": 1, "batch_size": 8, "image_size": 64, "seed": 0}
    with pytest.raises(ConfigError) as error:
        config_from_dict({**base, **raw})
    assert error.value.key == key
    assert config_from_dict({**base, "optimizer": "adamw", "momentum": 0.0}).momentum == 0.0
