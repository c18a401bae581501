"""Stimulus generation: what the worker stores, deterministic and idempotent, frozen once anyone joins."""

import time

import numpy as np
import pytest
from PIL import Image as PILImage

from annotations.map_encoding import npy_array
from clickme_site.errors import Conflict
from psychophysics import stimuli, stimulus_generation
from psychophysics.experiments import experiment_open
from psychophysics.models import Experiment, NoiseMask, Stimulus

from .conftest import ParticipantClient, make_experiment, ready

pytestmark = pytest.mark.django_db


def pixels(path):
    with PILImage.open(path) as image:
        return np.asarray(image.convert("RGB"))


def generate(experiment):
    stimulus_generation.stimuli_generate(experiment_id=experiment.pk)
    experiment.refresh_from_db()
    return experiment


def test_one_stimulus_per_image_source_and_level_each_the_top_pixels_of_its_map(two_categories, settings):
    experiment = generate(make_experiment(two_categories, levels=(5, 20, 100)))
    assert experiment.stimuli_state == "ready" and experiment.stimuli_error == ""
    main = experiment.images.count() * 2 * 3
    practice = experiment.practice_images.count() * 2 * 3  # practice: the easiest levels (here all three)
    assert Stimulus.objects.filter(experiment=experiment).count() == main + practice
    assert NoiseMask.objects.filter(experiment=experiment).count() == stimulus_generation.N_MASKS

    stimulus = Stimulus.objects.get(
        experiment=experiment, image=experiment.images.first(), source="clickme", level_pct=5
    )
    image = stimulus.image
    with image.file.open("rb") as handle, PILImage.open(handle) as pil:
        original = np.asarray(pil.convert("RGB"))
    the_map = npy_array(image.clickmap.data)
    expected = stimuli.reveal_top_k(original, the_map, 5, seed=(experiment.seed, image.pk, 0))
    assert np.array_equal(pixels(settings.PRIVATE_ROOT / stimulus.file), expected)
    shown = np.any(expected != stimuli.GREY, axis=-1)
    assert shown.sum() == pytest.approx(0.05 * 256 * 256, abs=1)
    assert stimulus.map_fingerprint == image.clickmap.fingerprint

    salient = Stimulus.objects.get(experiment=experiment, image=image, source="saliency", level_pct=5)
    expected = stimuli.reveal_top_k(original, stimuli.saliency_map(original), 5, seed=(experiment.seed, image.pk, 1))
    assert np.array_equal(pixels(settings.PRIVATE_ROOT / salient.file), expected)
    full = Stimulus.objects.get(experiment=experiment, image=image, source="clickme", level_pct=100)
    assert np.array_equal(pixels(settings.PRIVATE_ROOT / full.file), original)


def test_generating_again_changes_nothing_and_a_rebuild_from_scratch_gives_the_same_bytes(two_categories, settings):
    experiment = generate(make_experiment(two_categories))
    stored = Stimulus.objects.filter(experiment=experiment)
    rows = sorted(stored.values_list("pk", "file", "sha256"))
    by_cell = dict((k[:3], k[3]) for k in stored.values_list("image_id", "source", "level_pct", "sha256"))
    mtimes = {path: (settings.PRIVATE_ROOT / path).stat().st_mtime_ns for _pk, path, _sha in rows}

    experiment.stimuli_state = "queued"  # a second delivery of the task
    experiment.save()
    generate(experiment)
    assert experiment.stimuli_state == "ready"
    assert sorted(stored.values_list("pk", "file", "sha256")) == rows
    assert {path: (settings.PRIVATE_ROOT / path).stat().st_mtime_ns for _pk, path, _sha in rows} == mtimes

    stored.delete()
    for _pk, path, _sha in rows:
        (settings.PRIVATE_ROOT / path).unlink(missing_ok=True)  # 100% of either source is the same file
    Experiment.objects.filter(pk=experiment.pk).update(stimuli_fingerprint="")
    generate(experiment)
    rebuilt = dict((k[:3], k[3]) for k in stored.values_list("image_id", "source", "level_pct", "sha256"))
    assert rebuilt == by_cell  # deterministic: the same inputs give the same bytes


def test_a_changed_level_list_is_regenerated_and_old_files_are_removed(
    two_categories, settings, django_capture_on_commit_callbacks
):
    experiment = generate(make_experiment(two_categories, levels=(20, 100)))
    old_files = set(Stimulus.objects.filter(experiment=experiment, level_pct=20).values_list("file", flat=True))
    experiment.reveal_levels = [10, 100]
    experiment.save()
    with pytest.raises(Conflict, match="generate them again"):
        experiment_open(experiment=experiment)  # the stored stimuli no longer match the design
    with django_capture_on_commit_callbacks(execute=True):
        generate(experiment)
    assert set(Stimulus.objects.filter(experiment=experiment).values_list("level_pct", flat=True)) == {10, 100}
    assert not any((settings.PRIVATE_ROOT / path).exists() for path in old_files)
    assert experiment_open(experiment=experiment).status == "open"


def test_images_without_a_clickme_map_fail_the_generation_naming_them(two_categories):
    experiment = make_experiment(two_categories, with_maps=False)
    generate(experiment)
    assert experiment.stimuli_state == "failed"
    assert "have no ClickMe map" in experiment.stimuli_error
    assert str(experiment.images.order_by("id").first().pk) in experiment.stimuli_error
    assert not Stimulus.objects.filter(experiment=experiment).exists()
    with pytest.raises(Conflict, match="failed"):
        experiment_open(experiment=experiment)


def test_saliency_only_experiments_need_no_clickme_maps(two_categories):
    experiment = generate(make_experiment(two_categories, with_maps=False, feature_sources=["saliency"]))
    assert experiment.stimuli_state == "ready"
    assert set(Stimulus.objects.filter(experiment=experiment).values_list("source", flat=True)) == {"saliency"}


def test_once_anyone_has_joined_the_stimuli_are_frozen(two_categories):
    experiment = ready(make_experiment(two_categories))
    ParticipantClient(experiment.slug).join()
    before = sorted(Stimulus.objects.filter(experiment=experiment).values_list("pk", "sha256"))
    with pytest.raises(Conflict, match="frozen"):
        stimulus_generation.stimuli_request(experiment=experiment)
    experiment.reveal_levels = [10, 100]
    experiment.save()
    generate(experiment)  # a stray task changes nothing either
    assert sorted(Stimulus.objects.filter(experiment=experiment).values_list("pk", "sha256")) == before
    assert experiment.stimuli_state == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_stimuli_queued_by_the_staff_api(
    celery_worker_process, two_categories, settings, staff
):
    settings.MEDIA_ROOT = celery_worker_process.media_root  # the worker reads the images from there
    settings.PRIVATE_ROOT = celery_worker_process.private_root  # ... and writes the stimuli there
    experiment = make_experiment(two_categories, slug="worker")
    response = staff.post(f"/api/v1/experiments/{experiment.slug}/stimuli/")
    assert response.status_code == 202 and response.json() == {"stimuli_state": "queued"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        experiment.refresh_from_db()
        if experiment.stimuli_state in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert experiment.stimuli_state == "ready", experiment.stimuli_error
    files = Stimulus.objects.filter(experiment=experiment).values_list("file", flat=True)
    assert len(files) == (8 + 2) * 2 * 2 and all((settings.PRIVATE_ROOT / f).is_file() for f in files)
