"""Fixtures of the psychophysics tests: synthetic images with ClickMe maps made from simulated
players' clicks, an experiment with its stimuli built, and browser-like participants."""

import json

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations import maps
from annotations.map_encoding import npy_bytes
from annotations.models import ClickMap
from game.simulated_players import trajectory
from psychophysics import stimulus_generation
from psychophysics.experiments import experiment_open
from psychophysics.models import Experiment
from tests.conftest import synthetic_image
from tests.factories import CategoryFactory


def mask_of(image):
    from PIL import Image as PILImage

    with image.mask.open("rb") as handle, PILImage.open(handle) as mask:
        return np.asarray(mask) > 0


def add_clickmap(image, n_players=5, seed=0):
    """The image's ClickMe map, built (docs/SCIENCE.md section 2) from careful simulated players' clicks."""
    rng = np.random.default_rng(seed + image.pk)
    rounds = [trajectory(mask_of(image), rng, n_clicks=60) for _ in range(n_players)]
    the_map = maps.clickme_map(rounds, image.height, image.width)
    return ClickMap.objects.create(
        image=image,
        data=npy_bytes(the_map),
        height=image.height,
        width=image.width,
        n_players=n_players,
        n_clicks=60 * n_players,
        fingerprint=f"test-{image.pk}-{seed}",
        updated_at=timezone.now(),
    )


@pytest.fixture
def two_categories(db):
    # synthetic images whose badges are painted red (A) or blue (B), with no saturated distractor
    return CategoryFactory(name="red ring", wnid="s0000000"), CategoryFactory(name="blue saltire", wnid="s0000002")


# (badge, bars) RGB: category A's badges carry red bars, B's blue ones (a colour network tells them apart)
PART_COLOURS = (((235, 235, 225), (215, 40, 40)), ((235, 235, 225), (40, 80, 225)))


def make_experiment(
    categories,
    *,
    n_per_category=4,
    n_practice_per_category=1,
    levels=(20, 100),
    n_trials=None,
    with_maps=True,
    slug="rapid",
    **fields,
):
    """An experiment over new synthetic images of two categories (A = first, B = second)."""
    cat_a, cat_b = categories
    images, practice = [], []
    for index, category in enumerate((cat_a, cat_b)):
        glyph = 0 if index == 0 else 2
        colours = {"part_colours": PART_COLOURS[index], "n_distractors": 0}
        for k in range(n_per_category):
            images.append(synthetic_image(category, glyph + 10 * k, split="val", **colours))
        for k in range(n_practice_per_category):
            practice.append(synthetic_image(category, glyph + 10 * (k + 50), split="train", **colours))
    if with_maps:
        for image in images + practice:
            add_clickmap(image)
    experiment = Experiment.objects.create(
        slug=slug,
        title=f"Rapid {slug}",
        reveal_levels=list(levels),
        n_trials=n_trials if n_trials is not None else len(images),
        n_practice=len(practice),
        completion_code="C0DE42",
        stimulus_ms=50,
        fixation_ms=300,
        mask_ms=100,
        response_window_ms=1500,
        **fields,
    )
    experiment.choice_a_categories.set([cat_a])
    experiment.choice_b_categories.set([cat_b])
    experiment.images.set(images)
    experiment.practice_images.set(practice)
    return experiment


def ready(experiment):
    """Build the stimuli in-process (the worker's code) and open the experiment."""
    stimulus_generation.stimuli_generate(experiment_id=experiment.pk)
    experiment.refresh_from_db()
    assert experiment.stimuli_state == Experiment.StimuliState.READY, experiment.stimuli_error
    return experiment_open(experiment=experiment)


@pytest.fixture
def experiment(two_categories):
    return ready(make_experiment(two_categories))


class ParticipantClient:
    """A browser-like participant: its own session, the CSRF token from the page, JSON bodies."""

    def __init__(self, slug, query=""):
        self.slug = slug
        self.client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="pytest-participant")
        page = self.client.get(f"/experiments/{slug}/{query}")
        assert page.status_code == 200, page.status_code
        self.csrf = self.client.cookies["csrftoken"].value
        self.api = f"/api/experiments/{slug}/"

    def post(self, path, body=None, csrf=True, raw=None):
        headers = {"X-CSRFToken": self.csrf} if csrf else {}
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"{self.api}{path}", data=data, content_type="application/json", headers=headers)

    def get(self, path, **params):
        return self.client.get(f"{self.api}{path}", params)

    def join(self, **extra):
        response = self.post("participant/", {"consent": True, **extra})
        assert response.status_code in (200, 201), response.content
        return response.json()

    def answer(self, trial_id, key="f", **overrides):
        body = {
            "key": key,
            "rt_ms": 480.5,
            "requested_frames": 3,
            "shown_frames": 3,
            "shown_stimulus_ms": 50.1,
            "frame_interval_ms": 16.7,
            "timing": {"mask_shown_ms": 100.2, "page_hidden": False},
        }
        body.update(overrides)
        return self.post(f"trials/{trial_id}/", body)

    def run_all(self, key_for=lambda trial: "f"):
        state = self.join()
        while state["phase"] != "completed":
            trial = state["trials"][0]
            response = self.answer(trial["id"], key=key_for(trial))
            assert response.status_code == 200, response.content
            state = response.json()["state"]
        return state


@pytest.fixture
def researcher(db, django_user_model):
    user = django_user_model.objects.create_user("ada")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client


@pytest.fixture
def staff(db, django_user_model):
    user = django_user_model.objects.create_user("boss", is_staff=True, is_superuser=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client
