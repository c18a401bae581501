"""Per-image playability (docs/SCIENCE.md section 1): each image is screened against the partner and
served only when it can be lost and won. The pure core (game/validity.py screen_images) on images and
partners made to fail one check each; the Django side (game/screening.py) with the shipped demo partner
on the synthetic benchmark: verdicts stored per partner, only playable images served, a partner change
followed, the screening's task, the admin, the dashboard and the researchers' API."""

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from game import playability, screening, tasks
from game.models import Image, ImageScreening, Partner, Playability
from game.playability import Playability as Verdict
from game.playability import edge_clicks, screen_images
from game.services import partner_activate
from game.validity import GameRules, RoundImage
from tests.game.conftest import PlayerClient

RULES = GameRules()
PART, GROUND = np.array([0.9, 0.2, 0.1], np.float32), np.float32(0.5)


def scene(where):
    """A flat grey image with one 40 px square part: in the middle, or one in each corner."""
    image = np.full((256, 256, 3), GROUND, np.float32)
    mask = np.zeros((256, 256), bool)
    spots = [(108, 108)] if where == "middle" else [(16, 16), (16, 200), (200, 16), (200, 200)]
    for top, left in spots:
        mask[top : top + 40, left : left + 40] = True
    image[mask] = PART
    return RoundImage(image=image, targets=(1,), mask=mask, name=where)


def part_pixels(views):
    return np.all(np.abs(views - PART) < 1e-6, axis=-1).sum(axis=(1, 2))


def scores(win):
    """Two outputs; output 1 (the images' category) ranked first where `win` is true."""
    return np.column_stack([np.where(win, 0.0, 1.0), np.where(win, 1.0, 0.0)])


def needs_the_part(views):
    return scores(part_pixels(views) >= 400)


def needs_everything(views):
    """Recognises only a view with no noise left anywhere (the full view)."""
    clean = np.all(np.abs(views - PART) < 1e-6, axis=-1) | np.all(np.abs(views - GROUND) < 1e-6, axis=-1)
    return scores(clean.all(axis=(1, 2)))


def reads_the_noise(views):
    return scores(np.ones(len(views), bool))


def blind(views):
    return scores(np.zeros(len(views), bool))


@pytest.mark.parametrize(
    ("predict", "where", "verdict"),
    [
        (needs_the_part, "middle", Verdict.PLAYABLE),
        (needs_the_part, "corners", Verdict.WON_CARELESSLY),
        (reads_the_noise, "middle", Verdict.WON_UNPAINTED),
        (blind, "middle", Verdict.NOT_RECOGNISED),
        (needs_everything, "middle", Verdict.CAREFUL_LOST),
    ],
)
def test_each_check_of_the_screening_fails_the_image_it_should(predict, where, verdict):
    (result,) = screen_images(predict, [scene(where)], top_k=1, seed=3)
    assert result.verdict == verdict
    assert result.zero_click_rounds == 3 and result.careless_rounds == 2 and result.careful_rounds == 2


def test_the_screening_batches_images_and_counts_each_kind_of_round():
    calls = []

    def counted(views):
        calls.append(len(views))
        return needs_the_part(views)

    results = screen_images(counted, [scene("middle")] * 5 + [scene("corners")] * 5, top_k=1, batch_size=32)
    assert [r.verdict for r in results] == [Verdict.PLAYABLE] * 5 + [Verdict.WON_CARELESSLY] * 5
    assert max(calls) == 32 and len(calls) < 20  # 10 images x 9 rounds, played post by post in batches
    assert all(r.careful_clicks and 10 <= r.careful_clicks <= 60 for r in results[:5])


def test_careless_strokes_stay_in_a_corner_square_or_the_border_band():
    rng = np.random.default_rng(0)
    for _ in range(20):
        corner = edge_clicks((256, 256), rng, RULES, 30, "corner")
        xs, ys = corner[:, 0], corner[:, 1]
        assert len(corner) == 30 and (xs.max() - xs.min() <= 52) and (ys.max() - ys.min() <= 52)
        assert (np.minimum(xs, 255 - xs) <= 52).all() and (np.minimum(ys, 255 - ys) <= 52).all()
        border = edge_clicks((256, 256), rng, RULES, 30, "border")
        distance = np.minimum.reduce([border[:, 0], 255 - border[:, 0], border[:, 1], 255 - border[:, 1]])
        assert len(border) == 30 and (distance <= 52).all()


# ---- the Django side, with the shipped demo partner on the synthetic benchmark


@pytest.fixture
def benchmark(tmp_path, db):
    from game.synthetic_benchmark import write_benchmark

    call_command("import_images", str(write_benchmark(tmp_path / "bench", n_per_category=1, seed=21)))
    return Image.objects.count()


def served_image_ids(n_players):
    served = set()
    for _ in range(n_players):
        answer = PlayerClient().post("/api/game/rounds/")
        if answer.status_code != 201:
            return served, answer
        served.add(answer.json()["image_id"])
    return served, None


@pytest.mark.django_db
def test_only_images_screened_playable_against_the_active_partner_are_served(benchmark, admin_client):
    assert benchmark == 64 and set(Image.objects.values_list("playability", flat=True)) == {Playability.UNSCREENED}
    call_command("install_demo_partner", "--images", "16")  # screens a sample of 16, then activates
    demo = Partner.objects.get(is_active=True)
    assert ImageScreening.objects.filter(partner=demo).count() == 16
    counts = screening.playability_counts()
    assert counts[Playability.UNSCREENED] == 48 and counts[Playability.PLAYABLE] >= 11
    playable = set(Image.objects.filter(playability=Playability.PLAYABLE).values_list("pk", flat=True))
    served, refusal = served_image_ids(40)
    assert served and served <= playable  # never an unscreened or failed image

    # the worker's task screens the rest, a batch at a time, until none is left
    assert tasks.images_screen() == 48 and tasks.images_screen() == 0
    counts = screening.playability_counts()
    assert counts[Playability.UNSCREENED] == 0 and counts[Playability.PLAYABLE] >= 48
    demo_verdicts = dict(Image.objects.values_list("pk", "playability"))

    # another partner: nothing it has not screened is served; back to the demo, its records still hold
    other = Partner.objects.create(name="other", architecture="exported", weights_file=demo.weights_file)
    partner_activate(partner=other)
    assert set(Image.objects.values_list("playability", flat=True)) == {Playability.UNSCREENED}
    answer = PlayerClient().post("/api/game/rounds/")
    assert answer.status_code == 409 and "being screened" in answer.json()["detail"]
    partner_activate(partner=demo)
    assert dict(Image.objects.values_list("pk", "playability")) == demo_verdicts

    # the admin filters by playability and shows the record; the dashboard counts; the API carries it
    changelist = admin_client.get(reverse("admin:game_image_changelist"), {"playability__exact": "playable"})
    assert changelist.status_code == 200 and f"{counts[Playability.PLAYABLE]} images" in changelist.content.decode()
    image = Image.objects.filter(playability=Playability.PLAYABLE).first()
    change = admin_client.get(reverse("admin:game_image_change", args=[image.pk])).content.decode()
    assert "Playable: full view won; won 0/3 zero-click, 0/2 careless" in change
    dashboard = admin_client.get("/dashboard/").content.decode()
    assert f'<span data-verdict="playable">{counts[Playability.PLAYABLE]} playable</span>' in dashboard
    assert 'id="validity-verdict">It meets the game' in dashboard
    researcher = APIClient()
    researcher.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=User.objects.create_user('ada')).key}")
    listed = researcher.get("/api/v1/images/", {"page_size": 100}).json()["results"]
    assert {row["id"]: row["playability"] for row in listed} == demo_verdicts


@pytest.mark.django_db
def test_the_command_screens_in_the_foreground_and_again_on_request(benchmark, capsys):
    call_command("install_demo_partner", "--images", "8")
    call_command("screen_images")
    out = capsys.readouterr().out
    assert "screened 56 images against demo_partner" in out and "unscreened" not in out.split("active, unretired")[1]
    assert ImageScreening.objects.count() == 64
    call_command("screen_images", "--again")
    assert "screened 64 images" in capsys.readouterr().out and ImageScreening.objects.count() == 64


def test_an_images_unpainted_wins_count_against_it_relative_to_the_win_rules_chance():
    """With 2 categories (chance 50%) one zero-click win in 3 is a coin's luck and two are not; with 64
    (chance 1.6%) one is already the image read without paint. Careless wins are held to the same bound."""

    def verdict(zero_wins, careless_wins, chance):
        return playability.ImageScreening(
            name="x",
            full_view_win=True,
            zero_click_wins=zero_wins,
            zero_click_rounds=3,
            careless_wins=careless_wins,
            careless_rounds=4,
            careful_wins=2,
            careful_rounds=2,
            careful_clicks=10,
            chance=chance,
        ).verdict

    assert verdict(1, 0, 0.5) == Verdict.PLAYABLE and verdict(2, 0, 0.5) == Verdict.WON_UNPAINTED
    assert verdict(0, 2, 0.5) == Verdict.PLAYABLE and verdict(0, 3, 0.5) == Verdict.WON_CARELESSLY
    assert verdict(1, 0, 1 / 64) == Verdict.WON_UNPAINTED and verdict(0, 1, 0.005) == Verdict.WON_CARELESSLY
    assert verdict(0, 0, 0.005) == Verdict.PLAYABLE
