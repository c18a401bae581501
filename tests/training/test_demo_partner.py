"""The demo partner really recognises revealed synthetic images, and the game plays with it."""

import pytest
from django.core.management import call_command

from game.models import Image, Partner


@pytest.mark.slow
def test_demo_partner_learns_the_benchmark_and_is_registered(db, tmp_path, capsys):
    from game.synthetic_benchmark import write_benchmark

    manifest = write_benchmark(tmp_path / "bench", n_per_category=60, seed=3, n_categories=4)
    call_command("import_images", str(manifest))
    call_command("train_demo_partner", "--epochs", "8", "--time-budget", "200")
    partner = Partner.objects.get(is_active=True)
    metrics = partner.metrics
    capsys.readouterr()
    # chance is 1/4 for top-1; the demo must read the part, in full and half-revealed views
    assert metrics["val_full"]["top1"] >= 0.8
    assert metrics["val_half_revealed"]["top1"] >= 0.7
    assert [label for _id, label in partner.category_mapping] == [
        "red ring",
        "red plus",
        "blue saltire",
        "blue triangle",
    ]
    assert all(category_id for category_id, _label in partner.category_mapping)
    call_command("train_demo_partner", "--if-none")
    assert "not training" in capsys.readouterr().out
    assert Partner.objects.count() == 1 and Image.objects.count() == 240
