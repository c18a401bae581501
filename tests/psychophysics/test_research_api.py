"""The researchers' experiment API: token auth, results as JSON and PNG, trials as JSON Lines."""

import io
import json

import pytest
from PIL import Image as PILImage

from game.models import Image
from psychophysics import analysis
from psychophysics.models import ObserverRun, Trial

from .conftest import ParticipantClient

pytestmark = pytest.mark.django_db

ENDPOINTS = ["", "results/", "results.png", "trials/", "observers/"]


def knowing_participant(experiment, right_for):
    """A participant who answers right exactly when `right_for(trial row)` says so."""
    participant = ParticipantClient(experiment.slug)

    def key_for(trial):
        row = Trial.objects.get(pk=trial["id"])
        wrong = "j" if row.correct_key == "f" else "f"
        return row.correct_key if right_for(row) else wrong

    return participant.run_all(key_for)


@pytest.mark.parametrize("suffix", ENDPOINTS)
def test_every_endpoint_needs_a_token(client, experiment, suffix):
    response = client.get(f"/api/v1/experiments/{experiment.slug}/{suffix}")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert client.get("/api/v1/experiments/").status_code == 401


def test_the_list_and_the_detail_describe_the_experiment(researcher, experiment):
    ParticipantClient(experiment.slug).join()
    listing = researcher.get("/api/v1/experiments/").json()["results"]
    assert [e["slug"] for e in listing] == [experiment.slug]
    detail = researcher.get(f"/api/v1/experiments/{experiment.slug}/").json()
    assert detail["url"].endswith(f"/experiments/{experiment.slug}/")
    assert detail["choices"][0]["key"] == "f" and detail["choices"][1]["key"] == "j"
    assert (detail["n_participants"], detail["n_completed"], detail["n_images"]) == (1, 0, 8)
    assert detail["stimuli_state"] == "ready" and detail["reveal_levels"] == [20, 100]
    assert researcher.get("/api/v1/experiments/nope/").status_code == 404


def test_the_results_are_the_accuracy_per_source_and_level_with_intervals(researcher, experiment):
    for _ in range(4):  # right on every ClickMe trial, wrong on every saliency trial
        knowing_participant(experiment, lambda row: row.source == "clickme")
    results = researcher.get(f"/api/v1/experiments/{experiment.slug}/results/", {"n_boot": 200}).json()
    assert results["levels"] == [20, 100] and results["sources"] == ["clickme", "saliency"]
    humans = results["humans"]
    assert (humans["n_participants"], humans["n_completed"], humans["n_trials"]) == (4, 4, 32)
    assert humans["timeout_rate"] == 0.0
    wilson_all_right = analysis.wilson_interval(8, 8)
    for row in humans["curves"]["clickme"]:
        assert (row["accuracy"], row["ci95"], row["n"]) == (1.0, wilson_all_right, 8)
    for row in humans["curves"]["saliency"]:
        assert (row["accuracy"], row["ci95"]) == (0.0, analysis.wilson_interval(0, 8))
    assert humans["difference"]["mean_over_levels"]["difference"] == 1.0
    assert humans["timing"]["frames_as_requested"] == 1.0 and humans["timing"]["median_shown_ms"] == 50.1
    assert results["n_boot"] == 200 and results["observers"] == []


def test_practice_and_unanswered_trials_do_not_count(researcher, experiment):
    participant = ParticipantClient(experiment.slug)
    state = participant.join()
    for _ in range(3):  # two practice trials and one main trial
        state = participant.answer(state["trials"][0]["id"]).json()["state"]
    humans = researcher.get(f"/api/v1/experiments/{experiment.slug}/results/", {"n_boot": 100}).json()["humans"]
    assert humans["n_trials"] == 1 and humans["n_completed"] == 0


def test_the_figure_is_a_png(researcher, experiment):
    knowing_participant(experiment, lambda row: row.level_pct == 100)
    response = researcher.get(f"/api/v1/experiments/{experiment.slug}/results.png", {"n_boot": 100})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with PILImage.open(io.BytesIO(response.content)) as figure:
        assert figure.format == "PNG" and figure.size == (1056, 528)


@pytest.mark.parametrize("n_boot", ["0", "abc", "99", "1000000"])
def test_a_bad_bootstrap_count_is_refused(researcher, experiment, n_boot):
    response = researcher.get(f"/api/v1/experiments/{experiment.slug}/results/", {"n_boot": n_boot})
    assert response.status_code == 400 and response.json()["detail"].startswith("n_boot")


def test_the_trials_stream_as_json_lines_one_per_stored_trial(researcher, experiment):
    for image in experiment.images.all():
        Image.objects.filter(pk=image.pk).update(source_name=f"val/{image.pk}.JPEG")  # as import_images names them
    state = knowing_participant(experiment, lambda row: True)
    ParticipantClient(experiment.slug).join()  # a second participant, nothing answered yet
    response = researcher.get(f"/api/v1/experiments/{experiment.slug}/trials/")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(lines) == 20
    done = [line for line in lines if line["participant"] == state["participant_id"]]
    assert [line["index"] for line in done] == list(range(10))
    first_main = next(line for line in done if line["phase"] == "main")
    assert first_main["is_correct"] is True and first_main["response_key"] == first_main["correct_key"]
    assert set(first_main) >= {
        "group", "image_id", "category_id", "source", "level_pct", "condition", "stimulus_sha256", "mask_index",
        "rt_ms", "requested_stimulus_ms", "requested_frames", "shown_frames", "shown_stimulus_ms",
        "frame_interval_ms", "timing", "responded_at", "timed_out", "source_name",
    }  # fmt: skip
    assert first_main["source_name"] == f"val/{first_main['image_id']}.JPEG"
    assert first_main["requested_stimulus_ms"] == 50
    pending = [line for line in lines if line["participant"] != state["participant_id"]]
    assert all(line["responded_at"] is None and line["response_key"] is None for line in pending)
    main_only = researcher.get(f"/api/v1/experiments/{experiment.slug}/trials/", {"phase": "main"})
    assert len(b"".join(main_only.streaming_content).splitlines()) == 16
    assert researcher.get(f"/api/v1/experiments/{experiment.slug}/trials/", {"phase": "x"}).status_code == 400


def test_stimulus_generation_over_the_api_is_for_staff_and_refused_once_anyone_joined(
    researcher, staff, experiment, django_capture_on_commit_callbacks
):
    assert researcher.post(f"/api/v1/experiments/{experiment.slug}/stimuli/").status_code == 403
    ParticipantClient(experiment.slug).join()
    response = staff.post(f"/api/v1/experiments/{experiment.slug}/stimuli/")
    assert response.status_code == 409 and response.json()["code"] == "stimuli_frozen"


def test_observer_requests_are_checked_and_queued(
    researcher, experiment, two_categories, django_capture_on_commit_callbacks
):
    from game.models import Partner

    url = f"/api/v1/experiments/{experiment.slug}/observers/"
    assert researcher.post(url, {"partner": 999}, format="json").json()["code"] == "not_found"
    for body in ({}, {"partner": "x"}, {"partner": 1, "extra": True}, [1]):
        response = researcher.post(url, body, format="json")
        assert response.status_code == 400, body
    unfit = Partner.objects.create(
        name="unfit", architecture="exported", weights_file="/nowhere", category_mapping=[[None, "x"]]
    )
    response = researcher.post(url, {"partner": unfit.pk}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "partner_unfit"
    assert not ObserverRun.objects.exists()
    fit = Partner.objects.create(
        name="fit", architecture="exported", weights_file="/nowhere",
        category_mapping=[[two_categories[0].pk, "a"], [two_categories[1].pk, "b"]],
    )  # fmt: skip
    with django_capture_on_commit_callbacks() as queued:
        response = researcher.post(url, {"partner": fit.pk}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert len(queued) == 1
    run = ObserverRun.objects.get()
    assert run.requested_by == researcher.user and run.partner_name == "fit"
    assert researcher.get(url).json()[0]["id"] == run.pk
    assert researcher.get(f"{url}{run.pk}/").json()["status"] == "queued"
    assert researcher.get(f"{url}{run.pk + 1}/").status_code == 404


def test_openapi_schema_lists_the_experiment_endpoints(client, db):
    paths = set(client.get("/api/schema/", {"format": "json"}).json()["paths"])
    assert {
        "/api/experiments/{slug}/",
        "/api/experiments/{slug}/participant/",
        "/api/experiments/{slug}/trials/{trial_id}/",
        "/api/experiments/{slug}/trials/{trial_id}/stimulus.png",
        "/api/v1/experiments/",
        "/api/v1/experiments/{slug}/results/",
        "/api/v1/experiments/{slug}/results.png",
        "/api/v1/experiments/{slug}/trials/",
        "/api/v1/experiments/{slug}/observers/",
        "/api/v1/experiments/{slug}/stimuli/",
    } <= paths
