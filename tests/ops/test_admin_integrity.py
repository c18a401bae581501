"""The admin: research data read-only; flagged rounds listed; bans, hidden nicknames and deletions go
through the services that rebuild the maps (checked with a real worker)."""

import io
import time

import numpy as np
import pytest

from annotations.models import ClickMap
from annotations.services import map_rebuild
from game.models import Image, Player, Round
from tests.conftest import synthetic_image
from tests.factories import PlayerFactory, RoundFactory


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client.force_login(user)
    return client


def clicks_of(k, n=12):
    return [[20 + 9 * k + (j % 4), 30 + 2 * j, 50 * j] for j in range(n)]


@pytest.fixture
def played(categories):
    image = synthetic_image(categories[0], 0)
    rounds = [
        RoundFactory(image=image, clicks=clicks_of(k), n_clicks=12, state="expired", score=0, finished_at=None)
        for k in range(3)
    ]
    Round.objects.filter(pk=rounds[2].pk).update(quality_flags=["teleport"], flagged=True)
    return image, rounds


def state_of(round_):
    r = Round.objects.get(pk=round_.pk)
    return (r.state, r.score, r.n_clicks, r.clicks, r.quality_flags)


def test_a_round_is_shown_read_only_and_a_post_changes_nothing(staff_client, played):
    _image, rounds = played
    before = state_of(rounds[0])
    url = f"/admin/game/round/{rounds[0].pk}/change/"
    page = staff_client.get(url).content.decode()
    for field in ("state", "score", "clicks", "n_clicks", "started_at", "quality_flags"):
        assert f'name="{field}"' not in page
    assert "<rect " in page  # the clicks are still drawn over the image
    response = staff_client.post(url, {"state": "won", "score": "100", "clicks": "[]", "n_clicks": "0"})
    assert response.status_code == 403
    assert state_of(rounds[0]) == before


@pytest.mark.parametrize("model", ["round", "player", "clickmap"])
def test_research_rows_cannot_be_added_or_deleted_by_hand(staff_client, played, model):
    image, rounds = played
    map_rebuild(image_id=image.pk)
    app = "annotations" if model == "clickmap" else "game"
    pk = {"round": rounds[0].pk, "player": rounds[0].player_id, "clickmap": ClickMap.objects.get().pk}[model]
    assert staff_client.get(f"/admin/{app}/{model}/add/").status_code == 403
    assert staff_client.post(f"/admin/{app}/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    listing = staff_client.get(f"/admin/{app}/{model}/").content.decode()
    assert 'value="delete_selected"' not in listing
    staff_client.post(f"/admin/{app}/{model}/", {"action": "delete_selected", "_selected_action": [pk], "post": "yes"})
    assert (Round.objects.count(), Player.objects.count(), ClickMap.objects.count()) == (3, 3, 1)


def test_a_map_is_shown_read_only(staff_client, played):
    image, _rounds = played
    clickmap = map_rebuild(image_id=image.pk)
    url = f"/admin/annotations/clickmap/{clickmap.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert 'name="n_players"' not in page and 'name="split_half_rho"' not in page
    assert staff_client.post(url, {"n_players": "99"}).status_code == 403
    assert ClickMap.objects.get().n_players == 2


def test_the_admin_lists_flagged_rounds(staff_client, played):
    _image, rounds = played
    page = staff_client.get("/admin/game/round/", {"flagged__exact": "1"}).content.decode()
    assert f"/admin/game/round/{rounds[2].pk}/change/" in page and "teleport" in page
    assert f"/admin/game/round/{rounds[0].pk}/change/" not in page


def test_hiding_a_nickname_is_an_action(staff_client, db):
    player = PlayerFactory(nickname="rude")
    staff_client.post("/admin/game/player/", {"action": "hide_nickname", "_selected_action": [player.pk]})
    player.refresh_from_db()
    assert player.nickname_hidden and player.nickname == "rude"


def test_the_delete_action_recounts_the_image(staff_client, played):
    image, rounds = played
    staff_client.post("/admin/game/round/", {"action": "delete_rebuilding_maps", "_selected_action": [rounds[0].pk]})
    assert not Round.objects.filter(pk=rounds[0].pk).exists()
    assert Image.objects.get(pk=image.pk).completed_rounds == 1


def wait_for_map(image, n_players, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        clickmap = ClickMap.objects.filter(image=image).first()
        if (clickmap.n_players if clickmap else 0) == n_players:
            return clickmap
        time.sleep(0.3)
    raise AssertionError(f"the map of image {image.pk} never reached {n_players} players")


@pytest.mark.django_db(transaction=True)
def test_ban_and_delete_actions_rebuild_the_maps_through_a_real_worker(
    celery_worker_process, settings, staff_client, categories
):
    settings.MEDIA_ROOT = celery_worker_process.media_root
    image = synthetic_image(categories[0], 0)
    rounds = [
        RoundFactory(image=image, clicks=clicks_of(k), n_clicks=12, state="expired", finished_at=None) for k in range(3)
    ]
    map_rebuild(image_id=image.pk)
    full = np.load(io.BytesIO(bytes(ClickMap.objects.get(image=image).data)))
    staff_client.post("/admin/game/player/", {"action": "ban", "_selected_action": [rounds[0].player_id]})
    banned = wait_for_map(image, 2)
    assert np.abs(np.load(io.BytesIO(bytes(banned.data))) - full).max() > 0.05
    staff_client.post("/admin/game/player/", {"action": "unban", "_selected_action": [rounds[0].player_id]})
    restored = wait_for_map(image, 3)
    assert np.abs(np.load(io.BytesIO(bytes(restored.data))) - full).max() < 1e-6
    staff_client.post("/admin/game/round/", {"action": "delete_rebuilding_maps", "_selected_action": [rounds[1].pk]})
    wait_for_map(image, 2)
    staff_client.post(
        "/admin/game/player/", {"action": "delete_with_rounds", "_selected_action": [rounds[2].player_id]}
    )
    wait_for_map(image, 1)
    assert Image.objects.get(pk=image.pk).completed_rounds == 1
