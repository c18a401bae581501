"""The demo partner on a small synthetic benchmark: each target of issue 8 item 3 holds, the partner is
registered, and the benchmark cannot be read through the noise (an honesty check)."""

import dataclasses

import numpy as np
import pytest
from django.core.management import call_command

from game.models import Image, Partner
from game.synthetic_benchmark import CATEGORIES, category_codes, scene
from game.validity import RoundImage, validity_report
from training.demo_partner import DemoConfig, predictor, target_checks, train_demo_partner

N_CATEGORIES = 16


@pytest.fixture
def small_benchmark(db, tmp_path):
    from game.synthetic_benchmark import write_benchmark

    manifest = write_benchmark(tmp_path / "bench", n_per_category=36, seed=3, n_categories=N_CATEGORIES)
    call_command("import_images", str(manifest))


@pytest.mark.slow
def test_demo_partner_meets_the_game_targets_and_is_registered(small_benchmark, capsys):
    # steps, not seconds: the same partner on a loaded machine (172 s of training here, 2 threads)
    call_command("train_demo_partner", "--steps", "1500", "--threads", "2")
    out = capsys.readouterr().out
    with capsys.disabled():
        print(out)  # the measured targets, for the README
    partner = Partner.objects.get(is_active=True)
    validity = partner.metrics["val_validity"]
    assert validity["n_outputs"] == N_CATEGORIES and validity["top_k"] == 1
    # issue 8's targets: zero clicks at most twice chance; careful at least 85%; careless (30 clicks) at
    # most half the careful
    assert validity["zero_click_win"] <= 2 * validity["chance"], out
    assert validity["careful_win"] >= 0.85, out
    assert validity["careless_win"] <= validity["careful_win"] / 2, out
    assert validity["careful_median_clicks"] is not None and validity["careful_median_ms"] <= 7000
    for line in ("zero-click win <= target", "careful win >= target", "careless win <= target"):
        assert line in out
    assert "careful player to a win (median)" in out and "training time" in out
    assert all(category_id for category_id, _label in partner.category_mapping)
    call_command("train_demo_partner", "--if-none")
    assert "not training" in capsys.readouterr().out
    assert Partner.objects.count() == 1 and Image.objects.count() == 36 * N_CATEGORIES


@pytest.mark.slow
def test_the_benchmark_is_unreadable_through_the_noise():
    """A reader trained with the true labels on zero-click views only (with the code book, the
    strongest head) stays within twice chance on new images, over 3 noise draws per image."""
    rng = np.random.default_rng(4)
    train = [(scene(rng, k % N_CATEGORIES), k % N_CATEGORIES) for k in range(N_CATEGORIES * 24)]
    held_out = [(scene(rng, k % N_CATEGORIES), k % N_CATEGORIES) for k in range(N_CATEGORIES * 8)]
    config = DemoConfig(steps=800)  # the whole test took 95 s here
    noise_only = dataclasses.replace(
        config, pretrain_fraction=0.0, careful_fraction=0.0, careless_fraction=0.0, zero_fraction=1.0, label_reveal=0.0
    )
    reader = train_demo_partner(
        [image for (image, _mask), _label in train],
        [mask for (_image, mask), _label in train],
        [label for _pair, label in train],
        N_CATEGORIES,
        noise_only,
        log=lambda _line: None,
        codes=category_codes([CATEGORIES[k][1] for k in range(N_CATEGORIES)]),
    )
    items = [RoundImage(image.astype(np.float32) / 255, (label,), mask) for (image, mask), label in held_out]
    report = validity_report(
        predictor(reader, config), items, n_outputs=N_CATEGORIES, careless_clicks_n=10, rounds_per_image=3
    )
    zero_ok, _careful_ok, _careless_ok = target_checks(report)
    assert zero_ok[3], (
        f"a noise-trained reader wins {report.zero_click.rate:.1%} at zero clicks (chance {report.chance:.1%})"
    )
