"""Model observers: real exported networks shown the experiment's stimuli, their answers and curves."""

import time

import pytest
import torch

from game.partner_registry import partner_register
from psychophysics import observers
from psychophysics.models import ObserverResponse, ObserverRun
from psychophysics.selectors import experiment_results
from training.partner_export import partner_export

from .conftest import make_experiment, ready

pytestmark = pytest.mark.django_db


class RedOrBlue(torch.nn.Module):
    """Output 0 is the reddest pixel's red-minus-blue, output 1 the bluest pixel's blue-minus-red: it
    tells the test images' red badge bars from their blue ones whenever the badge is visible."""

    def forward(self, x):
        red_minus_blue = x[:, 0] - x[:, 2]
        return 4.0 * torch.stack([red_minus_blue.amax(dim=(1, 2)), (-red_minus_blue).amax(dim=(1, 2))], dim=1)


@pytest.fixture
def red_or_blue(categories, tmp_path):
    path = partner_export(
        RedOrBlue(),
        tmp_path / "red-or-blue.pt2",
        categories=[{"wnid": c.wnid, "name": c.name} for c in (categories[0], categories[2])],
        input_size=96,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        architecture="red_or_blue",
    )
    return partner_register(name="red-or-blue", weights_path=path)


@pytest.fixture
def glyph_experiment(categories):
    # synthetic images with red (category 0) and blue (category 2) badges (tests/psychophysics/conftest.py)
    return ready(make_experiment((categories[0], categories[2]), levels=(5, 100), slug="glyphs"))


def curve(results, index, source):
    return {row["level"]: row["accuracy"] for row in results["observers"][index]["curves"][source]}


def test_a_network_that_ignores_its_input_answers_at_chance(glyph_experiment, ranked_partner):
    run = observers.observer_request(experiment=glyph_experiment, partner=ranked_partner, enqueue=False)
    run = observers.observer_run(run_id=run.pk)
    assert run.status == "done" and run.n_stimuli == 8 * 2 * 2  # main images only, every source and level
    answers = ObserverResponse.objects.filter(run=run)
    assert set(answers.values_list("choice_key", flat=True)) == {"f"}  # category 0 always beats category 2
    assert len(set(answers.values_list("p_choice_a", flat=True))) == 1
    results = experiment_results(glyph_experiment, n_boot=200)
    for source in ("clickme", "saliency"):
        assert curve(results, 0, source) == {5: 0.5, 100: 0.5}  # half the images are A


def test_a_network_that_reads_the_glyph_is_right_whenever_the_stimulus_shows_it(glyph_experiment, red_or_blue):
    run = observers.observer_request(experiment=glyph_experiment, partner=red_or_blue, enqueue=False)
    assert observers.observer_run(run_id=run.pk).status == "done"
    results = experiment_results(glyph_experiment, n_boot=200)
    observer = results["observers"][0]
    assert observer["partner"] == "red-or-blue" and observer["n_images"] == 8 and observer["current"]
    assert curve(results, 0, "clickme")[100] == 1.0 and curve(results, 0, "saliency")[100] == 1.0
    # the ClickMe maps were painted on the glyph: 5% of the pixels already show it
    assert curve(results, 0, "clickme")[5] == 1.0


def test_a_broken_network_fails_its_run_visibly(glyph_experiment, red_or_blue, tmp_path):
    red_or_blue.weights_file = str(tmp_path / "gone.pt2")
    red_or_blue.save()
    run = observers.observer_request(experiment=glyph_experiment, partner=red_or_blue, enqueue=False)
    run = observers.observer_run(run_id=run.pk)
    assert run.status == "failed" and "gone.pt2" in run.error
    assert not ObserverResponse.objects.exists()
    assert experiment_results(glyph_experiment, n_boot=100)["observers"][0]["status"] == "failed"


def test_running_a_finished_run_again_changes_nothing(glyph_experiment, ranked_partner):
    run = observers.observer_request(experiment=glyph_experiment, partner=ranked_partner, enqueue=False)
    observers.observer_run(run_id=run.pk)
    ids = sorted(ObserverResponse.objects.values_list("pk", flat=True))
    assert observers.observer_run(run_id=run.pk).status == "done"
    assert sorted(ObserverResponse.objects.values_list("pk", flat=True)) == ids


def test_the_model_observer_command_runs_and_prints_the_curve(glyph_experiment, red_or_blue, capsys):
    from django.core.management import call_command

    call_command("model_observer", "--experiment", "glyphs", "--partner", str(red_or_blue.pk))
    out = capsys.readouterr().out
    assert "answered 32 stimuli" in out and "accuracy, clickme: 5%:1.000 100%:1.000" in out
    assert ObserverRun.objects.get().status == "done"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_an_observer_requested_over_the_api(
    celery_worker_process, categories, settings, researcher, red_or_blue
):
    settings.MEDIA_ROOT = celery_worker_process.media_root
    settings.PRIVATE_ROOT = celery_worker_process.private_root  # the stimuli are private files the worker reads
    experiment = ready(make_experiment((categories[0], categories[2]), levels=(5, 100), slug="worker-observer"))
    response = researcher.post(
        f"/api/v1/experiments/{experiment.slug}/observers/", {"partner": red_or_blue.pk}, format="json"
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        run = ObserverRun.objects.get(pk=response.json()["id"])
        if run.status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert run.status == "done", run.error
    assert ObserverResponse.objects.filter(run=run).count() == 32
