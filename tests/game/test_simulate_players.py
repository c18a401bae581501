"""simulate_players plays through the real HTTP API of a live server."""

import pytest
from django.core.management import CommandError, call_command

from game.models import Player, Round
from tests.conftest import synthetic_image


@pytest.mark.django_db(transaction=True)
def test_simulated_players_play_rounds_through_http(live_server, categories, ranked_partner, capsys):
    for k in range(6):
        synthetic_image(categories[5 + k % 2], k)
    call_command(
        "simulate_players", "--players", "3", "--rounds", "2", "--careless", "0.34", "--base-url", live_server.url
    )
    assert "3 players played 6 rounds" in capsys.readouterr().out
    assert Player.objects.filter(consented_at__isnull=False).count() == 3
    assert set(Player.objects.values_list("nickname", flat=True)) == {
        "sim-careless-0",
        "sim-careful-1",
        "sim-careful-2",
    }
    rounds = Round.objects.all()
    assert rounds.count() == 6 and all(r.state == "expired" and r.n_clicks == 140 for r in rounds)
    assert all(r.user_agent == "clickme-simulated-player" for r in rounds)


@pytest.mark.django_db(transaction=True)
def test_careful_simulated_players_click_inside_the_mask(live_server, categories, ranked_partner):
    import numpy as np
    from PIL import Image as PILImage

    image = synthetic_image(categories[5], 0)
    call_command("simulate_players", "--players", "1", "--rounds", "1", "--base-url", live_server.url)
    with image.mask.open("rb") as handle, PILImage.open(handle) as mask_file:
        mask = np.asarray(mask_file) > 0
    clicks = np.array(Round.objects.get().clicks)
    inside = mask[clicks[:, 1], clicks[:, 0]].mean()
    assert inside > 0.6


def test_simulate_players_refuses_bad_arguments(db):
    with pytest.raises(CommandError):
        call_command("simulate_players", "--players", "0", "--rounds", "1")
    with pytest.raises(CommandError):
        call_command("simulate_players", "--players", "1", "--rounds", "1", "--careless", "2")
