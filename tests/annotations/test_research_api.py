"""docs/API.md "Researchers": auth, lists, filters, maps, the clicks stream, stats, exports, imports."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image as PILImage
from rest_framework.test import APIClient

from annotations import maps, services
from annotations.map_encoding import npy_array
from annotations.models import ClickMap, Export
from game.models import Image, Round

SOURCE_NAMES = ["ILSVRC2012_val_00000001.JPEG", "n01440764/n01440764_10026.JPEG", "photos/x.png"]


@pytest.fixture
def built(played_images):
    for image, name in zip(played_images, SOURCE_NAMES, strict=True):
        Image.objects.filter(pk=image.pk).update(source_name=name)  # as import_images names them
        services.map_rebuild(image_id=image.pk)
    return played_images


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/categories/",
        "/api/v1/images/",
        "/api/v1/images/1/",
        "/api/v1/stats/",
        "/api/v1/clicks/",
        "/api/v1/images/1/map.npy",
    ],
)
def test_without_a_token_every_path_is_401(db, path):
    assert APIClient().get(path).status_code == 401
    assert APIClient(HTTP_AUTHORIZATION="Token nope").get(path).status_code == 401


def test_a_researcher_token_on_a_staff_endpoint_is_403(researcher, staff):
    assert researcher.post("/api/v1/maps/rebuild/").status_code == 403
    assert staff.post("/api/v1/maps/rebuild/").status_code == 202


def test_research_token_command_prints_the_token_alone(db, capsys):
    call_command("research_token", "grace")
    key = capsys.readouterr().out.strip()
    call_command("research_token", "grace")
    assert capsys.readouterr().out.strip() == key and len(key) == 40
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/stats/").status_code == 200


def test_images_list_with_map_summary_and_filters(researcher, built, categories):
    body = researcher.get("/api/v1/images/").json()
    assert set(body) == {"next", "previous", "results"}
    first = body["results"][0]
    assert set(first) == {
        "id",
        "image_url",
        "width",
        "height",
        "category",
        "split",
        "n_players",
        "n_clicks",
        "map_updated_at",
        "split_half_rho",
        "n_abandoned",
        "n_skipped",
        "n_flagged",
        "playability",
        "source_name",
    }
    assert first["n_players"] == 6 and first["playability"] == "playable" and first["split_half_rho"] is not None
    assert [row["source_name"] for row in body["results"]] == SOURCE_NAMES
    only = researcher.get("/api/v1/images/", {"category": categories[1].pk}).json()["results"]
    assert [r["id"] for r in only] == [built[1].pk]
    assert len(researcher.get("/api/v1/images/", {"min_players": 6}).json()["results"]) == 2
    assert len(researcher.get("/api/v1/images/", {"min_players": 7}).json()["results"]) == 0
    future = (timezone.now() + timezone.timedelta(days=1)).isoformat()
    assert researcher.get("/api/v1/images/", {"updated_since": future}).json()["results"] == []


def test_cursor_pagination_walks_every_image_once(researcher, built):
    seen, url = [], "/api/v1/images/?page_size=1"
    while url:
        body = researcher.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert seen == sorted(i.pk for i in built)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"category": 99999}, "category"),
        ({"category": "x"}, "category"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "0001-01-01T00:00:00+05:00"}, "updated_since"),  # before year 1 in UTC
        ({"updated_since": "9999-12-31T23:00:00-05:00"}, "updated_since"),  # after year 9999 in UTC
        ({"split": "holiday"}, "split"),
        ({"page_size": 1001}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"min_players": "x"}, "min_players"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(researcher, built, params, name):
    response = researcher.get("/api/v1/images/", params)
    assert response.status_code == 400 and response.json()["detail"].startswith(name)


def test_an_offset_the_database_cannot_hold_is_converted_not_a_500(researcher, built):
    # Found by schemathesis: PostgreSQL refuses a +23:59 offset, so the instant goes to it in UTC.
    response = researcher.get("/api/v1/images/", {"updated_since": "2000-01-01T00:00:00+23:59"})
    with_maps = researcher.get("/api/v1/images/", {"updated_since": "2000-01-01T00:00:00Z"}).json()["results"]
    assert response.status_code == 200 and response.json()["results"] == with_maps and with_maps
    assert researcher.get("/api/v1/clicks/", {"since": "2000-01-01T00:00:00-23:59"}).status_code == 200


def test_image_detail_404_and_non_numeric_400(researcher, built):
    detail = researcher.get(f"/api/v1/images/{built[0].pk}/").json()
    assert detail["id"] == built[0].pk and detail["source_name"] == SOURCE_NAMES[0]
    assert researcher.get("/api/v1/images/999999/").status_code == 404
    response = researcher.get("/api/v1/images/abc/")
    assert response.status_code == 400 and response.json()["detail"].startswith("id")


def test_map_npy_is_the_float32_recipe_map(researcher, built):
    response = researcher.get(f"/api/v1/images/{built[0].pk}/map.npy")
    the_map = np.load(io.BytesIO(response.content))
    assert the_map.dtype == np.float32 and the_map.shape == (256, 256) and the_map.max() == 1.0
    rounds = Round.objects.filter(image=built[0])
    expected = maps.clickme_map([np.array(r.clicks) for r in rounds], 256, 256)
    assert np.abs(the_map - expected).max() < 1e-4


def test_map_of_an_unplayed_image_is_404_no_map(researcher, built):
    response = researcher.get(f"/api/v1/images/{built[2].pk}/map.npy")
    assert response.status_code == 404 and response.json()["code"] == "no_map"
    assert researcher.get("/api/v1/images/999999/map.npy").json()["code"] == "not_found"


@pytest.mark.parametrize("image_id", [2**63 - 1, 2**63, 562865327590858096640])
@pytest.mark.parametrize("suffix", ["map.npy", "map.png", ""])
def test_an_image_id_past_64_bits_is_404_not_a_server_error(researcher, built, image_id, suffix):
    response = researcher.get(f"/api/v1/images/{image_id}/{suffix}")  # SQLite cannot even bind it
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_map_png_is_a_heatmap_over_the_image(researcher, built):
    response = researcher.get(f"/api/v1/images/{built[0].pk}/map.png")
    assert response["Content-Type"] == "image/png"
    with PILImage.open(io.BytesIO(response.content)) as png:
        assert png.size == (256, 256)


def test_clicks_stream_is_json_lines_with_an_opaque_player(researcher, built, categories):
    response = researcher.get("/api/v1/clicks/", {"category": categories[0].pk})
    assert response.streaming and response["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(rows) == 6 and all(r["image_id"] == built[0].pk for r in rows)
    round_ = Round.objects.select_related("player").get(pk=rows[0]["round_id"])
    assert set(rows[0]) == {
        "round_id",
        "image_id",
        "player",
        "clicks",
        "state",
        "score",
        "started_at",
        "finished_at",
        "partner_model",
        "flags",
        "source_name",
    }
    assert rows[0]["clicks"] == round_.clicks and rows[0]["source_name"] == SOURCE_NAMES[0]
    assert str(round_.player.public_id) not in rows[0]["player"] and len(rows[0]["player"]) == 20
    assert researcher.get("/api/v1/clicks/", {"since": "not a date"}).status_code == 400
    assert researcher.get("/api/v1/clicks/", {"image": "x"}).json()["detail"].startswith("image")


def test_stats_counts_and_reliability(researcher, built):
    stats = researcher.get("/api/v1/stats/").json()
    assert (stats["n_maps"], stats["n_rounds"], stats["n_players"]) == (2, 12, 12)
    low, high = stats["split_half_rho"]["ci95"]
    assert low <= stats["split_half_rho"]["mean"] <= high


@pytest.mark.parametrize("with_maps", [False, True])
def test_stats_reports_the_split_half_null_under_its_own_name(researcher, played_images, with_maps):
    """docs/SCIENCE.md section 2: the null (halves of two different images) beside the mean, no stray "null" key."""
    if with_maps:
        for image in played_images:
            services.map_rebuild(image_id=image.pk)
    rho = researcher.get("/api/v1/stats/").json()["split_half_rho"]
    assert set(rho) == {"mean", "ci95", "n_images", "null_mean"}
    if with_maps:
        assert rho["n_images"] == 2 and rho["null_mean"] < rho["mean"]
    else:
        assert (rho["n_images"], rho["mean"], rho["null_mean"]) == (0, None, None)


def test_categories_list_counts_images_and_maps(researcher, built, categories):
    rows = {r["id"]: r for r in researcher.get("/api/v1/categories/").json()["results"]}
    assert rows[categories[0].pk]["n_images"] == 1 and rows[categories[0].pk]["n_maps"] == 1
    assert rows[categories[2].pk]["n_maps"] == 0


def test_export_writes_the_npz_and_imports_back(researcher, built, django_capture_on_commit_callbacks, tmp_path):
    with django_capture_on_commit_callbacks() as callbacks:
        response = researcher.post(
            "/api/v1/exports/", {"format": "npz", "filters": {"min_players": 1}, "size": 64}, format="json"
        )
    assert response.status_code == 202 and response.json()["status"] == "queued" and len(callbacks) == 1
    services.export_build(export_id=response.json()["id"])  # what the worker runs
    detail = researcher.get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert detail["status"] == "done" and detail["n_maps"] == 2 and detail["download_url"]
    download = researcher.get(detail["download_url"])
    content = b"".join(download.streaming_content)
    import hashlib

    assert hashlib.sha256(content).hexdigest() == detail["sha256"] and len(content) == detail["size_bytes"]
    path = tmp_path / "export.npz"
    path.write_bytes(content)
    with np.load(path) as npz:
        assert npz["maps"].shape == (2, 64, 64) and npz["maps"].dtype == np.float16
        assert list(npz["image_ids"]) == [built[0].pk, built[1].pk]
        assert list(npz["n_players"]) == [6, 6]
        assert list(npz["source_names"]) == SOURCE_NAMES[:2]
        exported = npz["maps"][0].astype(np.float64)
    original = npy_array(ClickMap.objects.get(image=built[0]).data).astype(np.float64)
    assert np.abs(exported - maps.resize_bilinear(original, 64, 64)).max() < 2e-3
    ClickMap.objects.all().delete()
    call_command("import_maps", str(path))
    back = npy_array(ClickMap.objects.get(image=built[0]).data).astype(np.float64)
    assert np.abs(maps.resize_bilinear(back, 64, 64) - exported).max() < 0.05
    assert ClickMap.objects.get(image=built[0]).source == "imported"


def test_an_export_that_matches_nothing_is_done_with_zero_maps(researcher, built):
    response = researcher.post("/api/v1/exports/", {"format": "npz", "filters": {"min_players": 50}}, format="json")
    services.export_build(export_id=response.json()["id"])
    detail = researcher.get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert detail["status"] == "done" and detail["n_maps"] == 0
    with np.load(services.export_path(export=Export.objects.get()), allow_pickle=False) as npz:
        assert npz["maps"].shape == (0, 224, 224) and npz["image_ids"].shape == npz["source_names"].shape == (0,)


@pytest.mark.parametrize(
    "body, key",
    [
        ({"format": "csv"}, "format"),
        ({"format": "npz", "filters": {"colour": "red"}}, "filters.colour"),
        ({"format": "npz", "filters": {"split": "holiday"}}, "filters.split"),
        ({"format": "npz", "size": 0}, "size"),
        ({"format": "npz", "extra": 1}, "extra"),
    ],
)
def test_bad_export_requests_are_400_naming_the_key_and_queue_nothing(researcher, built, body, key):
    response = researcher.post("/api/v1/exports/", body, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith(key)
    assert not Export.objects.exists()


def test_a_failed_export_says_why_and_leaves_no_file(researcher, built, monkeypatch, settings):
    response = researcher.post("/api/v1/exports/", {"format": "npz"}, format="json")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services.maps, "resize_bilinear", broken)
    services.export_build(export_id=response.json()["id"])
    detail = researcher.get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert detail["status"] == "failed" and "disk full" in detail["error"] and detail["download_url"] is None
    assert not list((settings.PRIVATE_ROOT / "exports").glob("*"))
    assert researcher.get(f"/api/v1/exports/{response.json()['id']}/download").status_code == 409


def test_exports_of_other_researchers_are_hidden(researcher, built, django_user_model):
    response = researcher.post("/api/v1/exports/", {"format": "npz"}, format="json")
    from rest_framework.authtoken.models import Token

    other = APIClient(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=django_user_model.objects.create_user('eve')).key}"
    )
    assert other.get(f"/api/v1/exports/{response.json()['id']}/").status_code == 404


def test_an_export_lost_with_its_worker_is_taken_over(researcher, built):
    from datetime import timedelta

    from django.utils import timezone

    export_id = researcher.post("/api/v1/exports/", {"format": "npz"}, format="json").json()["id"]
    Export.objects.filter(pk=export_id).update(status="running", claimed_at=timezone.now())
    services.export_build(export_id=export_id)
    assert Export.objects.get(pk=export_id).status == "running"  # a live worker's export is left alone
    Export.objects.filter(pk=export_id).update(claimed_at=timezone.now() - timedelta(hours=1))
    services.export_build(export_id=export_id)
    assert Export.objects.get(pk=export_id).status == "done"


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v1/models/abc/promote/", "/api/v1/exports/not-a-uuid/"])
def test_unmatched_research_paths_are_401_without_a_token_and_json_404_with_one(researcher, path):
    assert APIClient().get(path).status_code == 401
    response = researcher.get(path)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
