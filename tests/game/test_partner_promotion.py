"""Promotion reads the partner's game-validity report: a partner that reads the images through the
darkened noise wins every image with zero clicks, so the screening finds none of its images playable and
it is refused (registered, not active) unless forced, by the command, the registry and the admin alike;
forced, none of its images is served; partner_report prints the same numbers."""

import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from clickme_site.errors import Conflict
from game.models import Image, ImageScreening, Partner, Playability
from game.partner_registry import partner_register
from game.reveal import noise_background
from tests.conftest import png_of
from tests.factories import ImageFactory
from tests.game.conftest import PlayerClient
from training.partner_export import partner_export

LEVELS = (0.3, 0.6, 0.9)  # one flat grey level per category
INPUT_SIZE = 32


class MeanReader(torch.nn.Module):
    """Reads the category off the view's mean brightness, which the darkened noise keeps."""

    def __init__(self, expected):
        super().__init__()
        self.register_buffer("expected", torch.tensor(expected, dtype=torch.float32))

    def forward(self, x):
        return -(x.mean(dim=(1, 2, 3))[:, None] - self.expected[None, :]).abs() * 10


@pytest.fixture
def flat_images(categories):
    chosen = categories[: len(LEVELS)]
    for category, level in zip(chosen, LEVELS, strict=True):
        for k in range(3):
            image = ImageFactory.build(category=category)
            array = np.full((256, 256, 3), round(255 * level), np.uint8)
            image.file.save(f"{image.sha256}-{k}.png", ContentFile(png_of(array)), save=False)
            image.save()
    return chosen


@pytest.fixture
def reader_artifact(flat_images, tmp_path):
    # the mean of each level's darkened-noise view, normalised as the runtime does ((x - 0.5) / 0.25)
    means = [noise_background(np.full((224, 224, 3), level, np.float32), 7, 0.4).mean() for level in LEVELS]
    return partner_export(
        MeanReader([(m - 0.5) / 0.25 for m in means]),
        tmp_path / "reader.pt2",
        categories=[{"wnid": c.wnid, "name": c.name} for c in flat_images],
        input_size=INPUT_SIZE,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        architecture="reader",
    )


def test_a_partner_that_reads_through_the_noise_is_registered_but_refused_unless_forced(reader_artifact):
    with pytest.raises(Conflict) as refused:
        partner_register(name="reader", weights_path=reader_artifact, activate=True)
    assert refused.value.code == "partner_refused"
    assert "none of the 9 active images" in refused.value.detail and "won_unpainted" in refused.value.detail
    partner = Partner.objects.get(name="reader")
    validity = partner.metrics["validity"]
    assert not partner.is_active
    # every zero-click round is won; in full view (no noise) it misreads some levels, which fail first
    assert validity["n_screened"] == 9 and validity["screening"]["won_unpainted"] >= 3
    assert sum(validity["screening"].values()) == 9 and "playable" not in validity["screening"]
    assert validity["n_playable"] == 0 and validity["n_rounds"] == 0 and validity["top_k"] == 1
    assert validity["chance"] == pytest.approx(1 / 3)
    screenings = ImageScreening.objects.filter(partner=partner)
    assert screenings.count() == 9 and all(s.zero_click_wins == s.zero_click_rounds == 3 for s in screenings)
    forced = partner_register(name="reader", weights_path=reader_artifact, activate=True, force=True)
    assert forced.is_active and Partner.objects.filter(is_active=True).count() == 1
    # forced or not, the game serves none of the images it reads unpainted
    served = set(Image.objects.values_list("playability", flat=True))
    assert Playability.PLAYABLE not in served and Playability.WON_UNPAINTED in served
    answer = PlayerClient().post("/api/game/rounds/")
    assert answer.status_code == 409 and answer.json()["code"] == "no_images_left"


def test_the_command_says_why_it_refused_and_the_report_command_prints_the_numbers(reader_artifact, capsys):
    with pytest.raises(CommandError, match="not activated: .*none of the 9 active images .* is playable"):
        call_command("register_partner", "--weights", str(reader_artifact), "--name", "reader", "--activate")
    assert not Partner.objects.get(name="reader").is_active
    out = capsys.readouterr().out
    assert "9 active images: 0 playable (" in out and "won_unpainted" in out
    call_command("partner_report", "--partner", str(Partner.objects.get(name="reader").pk))
    report = capsys.readouterr().out
    for row in ("screened", "win rates", "chance", "careful: median to a win"):
        assert row in report
    assert "refused" in report


def test_the_admin_shows_the_report_and_refuses_the_promotion_unless_forced(reader_artifact, admin_client):
    partner = partner_register(name="reader", weights_path=reader_artifact)
    page = admin_client.get(reverse("admin:game_partner_change", args=[partner.pk])).content.decode()
    assert 'id="game-validity"' in page and "refused at promotion" in page and "0 playable (" in page
    changelist = reverse("admin:game_partner_changelist")
    answer = admin_client.post(
        changelist, {"action": "make_active", "_selected_action": [partner.pk]}, follow=True
    ).content.decode()
    assert "Not activated" in answer and not Partner.objects.get(pk=partner.pk).is_active
    answer = admin_client.post(
        changelist, {"action": "make_active_forced", "_selected_action": [partner.pk]}, follow=True
    ).content.decode()
    assert "forced" in answer and Partner.objects.get(pk=partner.pk).is_active


def test_a_partner_with_no_active_image_of_its_categories_is_refused_and_the_report_says_so(reader_artifact, capsys):
    """Its report plays nothing (0 images): promotion used to say "allowed", and a game whose images the
    partner cannot name could never be won."""
    Image.objects.update(active=False)
    with pytest.raises(Conflict, match="no active image is of a category the partner knows"):
        partner_register(name="reader", weights_path=reader_artifact, activate=True)
    partner = Partner.objects.get(name="reader")
    assert not partner.is_active and partner.metrics["validity"]["n_rounds"] == 0
    call_command("partner_report", "--partner", str(partner.pk))
    assert "refused" in capsys.readouterr().out
