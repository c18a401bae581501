"""The research API shows the quality flags and the images' round counts; flagged rounds stay out of
the clicks stream unless asked for, and out of the maps (hence exports and split-half reliability)."""

import json

import numpy as np
import pytest
from django.utils import timezone

from annotations import selectors, services
from annotations.models import ClickMap, Export
from game import moderation
from game.models import Player, Round

from .conftest import play


def stream(researcher, **params):
    response = researcher.get("/api/v1/clicks/", params)
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


@pytest.fixture
def flagged_and_banned(played_images):
    """On image 0 (6 careful players): one round flagged as a replay, one player banned."""
    image = played_images[0]
    rounds = list(Round.objects.filter(image=image).order_by("pk"))
    Round.objects.filter(pk=rounds[0].pk).update(quality_flags=["duplicate_path"], flagged=True)
    moderation.player_ban(player=rounds[1].player)
    moderation.image_counts_refresh([image.pk])
    return image, rounds


def test_the_clicks_stream_leaves_flagged_and_banned_rounds_out_by_default(researcher, flagged_and_banned):
    image, rounds = flagged_and_banned
    rows = stream(researcher, image=image.pk)
    assert [row["round_id"] for row in rows] == [r.pk for r in rounds[2:]]
    assert all(row["flags"] == [] for row in rows)


def test_the_clicks_stream_includes_them_with_their_flags_when_asked(researcher, flagged_and_banned):
    image, rounds = flagged_and_banned
    rows = {row["round_id"]: row["flags"] for row in stream(researcher, image=image.pk, flagged="include")}
    assert list(rows) == [r.pk for r in rounds]
    assert rows[rounds[0].pk] == ["duplicate_path"] and rows[rounds[1].pk] == ["banned_player"]
    only = stream(researcher, image=image.pk, flagged="only")
    assert [row["round_id"] for row in only] == [rounds[0].pk, rounds[1].pk]


def test_a_bad_flagged_value_is_400(researcher, db):
    response = researcher.get("/api/v1/clicks/", {"flagged": "maybe"})
    assert response.status_code == 400 and response.json()["detail"].startswith("flagged:")


def test_the_map_its_reliability_and_exports_leave_them_out(researcher, flagged_and_banned):
    image, rounds = flagged_and_banned
    clickmap = services.map_rebuild(image_id=image.pk)
    assert clickmap.n_players == 4
    assert {round_id for round_id, _clicks in selectors.qualifying_rounds(image_id=image.pk)} == {
        r.pk for r in rounds[2:]
    }
    services.map_rebuild(image_id=rounds[0].image_id)
    body = researcher.get(f"/api/v1/images/{image.pk}/").json()
    assert (body["n_players"], body["n_flagged"], body["n_abandoned"], body["n_skipped"]) == (4, 2, 0, 0)
    response = researcher.post("/api/v1/exports/", {"filters": {"min_players": 1}, "size": 32}, format="json")
    services.export_build(export_id=response.json()["id"])  # what the worker runs
    export = Export.objects.get(pk=response.json()["id"])
    with np.load(services.export_path(export=export)) as npz:
        exported = dict(zip(npz["image_ids"].tolist(), npz["n_players"].tolist(), strict=True))
    assert exported[image.pk] == 4


def test_a_flag_or_ban_set_behind_the_maps_back_is_found_by_the_stale_sweep(played_images):
    image = played_images[0]
    services.map_rebuild(image_id=image.pk)
    services.map_rebuild(image_id=played_images[1].pk)
    assert selectors.stale_image_ids() == []
    victim = Round.objects.filter(image=image).first()
    Player.objects.filter(pk=victim.player_id).update(banned_at=timezone.now())  # as if the rebuild task was lost
    assert selectors.stale_image_ids() == [image.pk]
    assert services.maps_rebuild_stale() == 1
    assert services.map_rebuild(image_id=image.pk).n_players == 5


def test_a_map_whose_every_round_is_flagged_is_removed_by_the_sweep(played_images):
    image = played_images[0]
    services.map_rebuild(image_id=image.pk)
    services.map_rebuild(image_id=played_images[1].pk)
    Round.objects.filter(image=image).update(quality_flags=["inhuman_pace"], flagged=True)
    assert selectors.stale_image_ids() == [image.pk]
    services.maps_rebuild_stale()
    assert not ClickMap.objects.filter(image=image).exists()


def test_images_show_abandoned_and_skipped_rounds(researcher, categories):
    from tests.conftest import synthetic_image

    image = synthetic_image(categories[0], 0)
    play(image, 2, n_clicks=0)
    play(image, 1, state=Round.State.SKIPPED, n_clicks=3)
    moderation.image_counts_refresh([image.pk])
    body = researcher.get(f"/api/v1/images/{image.pk}/").json()
    assert (body["n_abandoned"], body["n_skipped"], body["n_players"]) == (2, 1, 0)
    listed = researcher.get("/api/v1/images/").json()["results"][0]
    assert (listed["n_abandoned"], listed["n_skipped"]) == (2, 1)
