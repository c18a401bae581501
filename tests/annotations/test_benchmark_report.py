"""manage.py benchmark_report: saliency's AUC against the diagnostic masks, and the maps' beside it."""

import numpy as np
from django.core.management import call_command
from django.utils import timezone

from annotations.models import ClickMap
from annotations.services import npy_bytes
from game.models import Image
from tests.conftest import synthetic_image


def test_report_on_generated_scenes(capsys):
    call_command("benchmark_report", "--generate", "12")
    out = capsys.readouterr().out
    assert "12 generated scenes" in out
    assert "bottom-up saliency (opponent)  " in out and "target <= 0.65" in out
    assert "ClickMe maps" in out and "none yet" in out


def test_report_on_imported_images_puts_the_maps_auc_beside(categories, capsys):
    images = [synthetic_image(categories[k % 2], k) for k in range(3)]
    for image in images[:2]:  # maps painted on the mask: AUC 1
        with image.mask.open("rb") as handle:
            from PIL import Image as PILImage

            mask = np.asarray(PILImage.open(handle).convert("L")) >= 128
        ClickMap.objects.create(
            image=image,
            data=npy_bytes(mask.astype(np.float32)),
            height=256,
            width=256,
            n_players=5,
            n_clicks=300,
            fingerprint="test",
            updated_at=timezone.now(),
        )
    assert Image.objects.count() == 3
    call_command("benchmark_report")
    out = capsys.readouterr().out
    assert "3 imported images" in out
    assert "ClickMe maps                       AUC 1.000 [1.000, 1.000] over 2 images" in out
    assert "target >= 0.85: meets" in out
