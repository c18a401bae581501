"""The experiment's statistics (training/metrics.py) and protocol rules (training/experiments/protocol.py)."""

import numpy as np
import pytest

from training import metrics
from training.experiments.protocol import Data, choose_lambda, splits


def test_spearman_brown_corrects_a_half_size_rho_to_full_size():
    assert metrics.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert metrics.spearman_brown(0.0) == 0.0
    assert metrics.spearman_brown(1.0) == 1.0
    assert metrics.spearman_brown(0.38) == pytest.approx(0.76 / 1.38)
    assert metrics.spearman_brown(None) is None and metrics.spearman_brown(float("nan")) is None


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_images():
    rng = np.random.default_rng(0)
    few, many = rng.normal(1.0, 1.0, 20), rng.normal(1.0, 1.0, 2000)
    mean, low, high = metrics.bootstrap_interval(few)
    assert low < mean < high and mean == pytest.approx(few.mean())
    _m, low_many, high_many = metrics.bootstrap_interval(many)
    assert high_many - low_many < (high - low) / 4
    assert low_many < 1.0 < high_many
    assert np.isnan(metrics.bootstrap_interval([np.nan])[0])


def test_the_seeds_and_images_interval_is_wider_when_seeds_disagree():
    rng = np.random.default_rng(1)
    images = rng.normal(0, 1, 200)
    steady = np.stack([images + 0.01 * k for k in range(5)])
    shaky = np.stack([images + offset for offset in (-1.0, -0.5, 0.0, 0.5, 1.0)])
    _m, low_a, high_a = metrics.bootstrap_interval_seeds_images(steady)
    _m, low_b, high_b = metrics.bootstrap_interval_seeds_images(shaky)
    assert high_b - low_b > 2 * (high_a - low_a)


def test_paired_test_finds_a_shift_and_no_shift_where_there_is_none():
    rng = np.random.default_rng(2)
    base = rng.normal(0, 1, 60)
    shifted = metrics.paired_test(base + 0.3 + rng.normal(0, 0.2, 60), base)
    assert shifted["mean_difference"] == pytest.approx(0.3, abs=0.1)
    assert shifted["p_sign_flip"] < 0.001 and shifted["p_wilcoxon"] < 0.001 and shifted["ci95"][0] > 0
    null = metrics.paired_test(base + rng.normal(0, 0.2, 60), base)
    assert null["p_sign_flip"] > 0.05 and null["ci95"][0] < 0 < null["ci95"][1]
    same = metrics.paired_test(base, base)
    assert same["mean_difference"] == 0 and same["p_sign_flip"] == 1.0


def test_harmonization_alignment_compares_at_224_px():
    yy, xx = np.mgrid[0:256, 0:256]
    the_map = np.exp(-((xx - 80.0) ** 2 + (yy - 150.0) ** 2) / 800.0)
    small = the_map[::4, ::4]  # a 64 px saliency of the same blob
    elsewhere = np.exp(-((xx - 200.0) ** 2 + (yy - 40.0) ** 2) / 800.0)[::4, ::4]
    rhos = metrics.saliency_alignment_harmonization(np.stack([small, elsewhere]), np.stack([the_map, the_map]))
    assert rhos[0] > 0.95 and rhos[1] < 0.2


def test_lambda_is_chosen_on_validation_by_the_declared_rule():
    sweep = {
        0.0: {"val_top1": [0.60, 0.62, 0.58], "val_attention_rho": [0.05, 0.06, 0.04]},
        1.0: {"val_top1": [0.60, 0.60, 0.59], "val_attention_rho": [0.20, 0.22, 0.21]},
        30.0: {"val_top1": [0.40, 0.45, 0.42], "val_attention_rho": [0.50, 0.52, 0.51]},
    }
    assert choose_lambda(sweep) == 1.0  # 30 aligns best but costs accuracy beyond the tolerance
    sweep[1.0]["val_top1"] = [0.50, 0.50, 0.50]
    assert choose_lambda(sweep) == 0.0  # no lambda > 0 holds accuracy: 0 can win


def test_split_seeds_resample_train_and_validation_but_never_the_test_split():
    n_categories, per_category = 5, 10
    labels = np.tile(np.arange(n_categories), per_category)
    positions = np.arange(len(labels)) // n_categories
    data = Data(np.zeros((len(labels), 4, 4, 3), np.uint8), labels, np.zeros((len(labels), 4, 4)), positions, 5)
    first, second = splits(data, 0, 2, 3), splits(data, 1, 2, 3)
    assert np.array_equal(first[2], second[2]) and len(first[2]) == 15
    assert not np.array_equal(first[1], second[1])
    for train_idx, val_idx, test_idx in (first, second):
        assert not (set(train_idx) & set(val_idx)) and not (set(train_idx) | set(val_idx)) & set(test_idx)
        assert len(train_idx) + len(val_idx) + len(test_idx) == len(labels)
        assert np.bincount(labels[val_idx]).tolist() == [2] * n_categories


def test_the_gala_tpu_arm_trains_with_gala_tpus_settings_at_the_chosen_lambda(monkeypatch):
    """Issue 9 item 5: one arm beside the project's GALA + ClickMe, with every gala_tpu setting, the
    same lambda and seeds; the other arms keep the project's settings."""
    from training.config import GALA_PRESETS
    from training.experiments import protocol

    configs = []
    monkeypatch.setattr(protocol, "train_run", lambda config, data, idx: configs.append(config) or config)
    n = 3 * 6
    fake_scores = {key: np.zeros(n) for key in ("correct", "attention_rho", "saliency_rho", "saliency_rho_224")} | {
        "examples": None
    }
    monkeypatch.setattr(protocol, "scores", lambda *args, **kwargs: {k: v for k, v in fake_scores.items()})
    data = Data(
        images=np.zeros((n, 4, 4, 3), np.uint8),
        labels=np.repeat(np.arange(3), 6),
        maps=np.zeros((n, 4, 4), np.float32),
        positions=np.tile(np.arange(6), 3),
        n_categories=3,
    )
    outcome = protocol.run_protocol(
        data,
        lambdas=(0.0, 3.0),
        selection_seeds=(0,),
        arm_seeds=(0, 1),
        val_per_category=1,
        test_per_category=2,
        log=lambda *a: None,
    )
    chosen = outcome["chosen"]
    tpu = [c for c in configs if c.local_5x5]
    assert len(tpu) == 2 and all(c.lambda_clickme == chosen and c.arch == "gala_resnet_tiny" for c in tpu)
    assert all(getattr(c, key) == value for c in tpu for key, value in GALA_PRESETS["gala_tpu"].items())
    others = [c for c in configs if not c.local_5x5]
    assert all(getattr(c, key) == value for c in others for key, value in GALA_PRESETS["project"].items())
    assert len(outcome["test"]) == 5 and list(outcome["test"])[-1].endswith("gala_tpu's settings")
