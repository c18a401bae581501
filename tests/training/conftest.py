"""Helpers of the training tests: a small job config, token clients, a benchmark with maps."""

import time

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations import services as map_services
from tests.annotations.conftest import play
from tests.conftest import synthetic_image

SMALL = {
    "arch": "gala_resnet_tiny",
    "lambda_clickme": 1.0,
    "epochs": 2,
    "batch_size": 4,
    "image_size": 32,
    "seed": 0,
    "optimizer": "adamw",
    "lr": 0.001,
    "max_saliency_images": 4,
}


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def researcher(db, django_user_model):
    return client_for(django_user_model.objects.create_user("ada"))


@pytest.fixture
def staff(db, django_user_model):
    return client_for(django_user_model.objects.create_user("boss", is_staff=True))


def benchmark_with_maps(categories, n=8, splits=("val", "val", "test", "test")):
    """n synthetic images of two categories with maps: the last ones in `splits`, the others train."""
    images = []
    for k in range(n):
        tail = k - (n - len(splits))
        split = splits[tail] if tail >= 0 else "train"
        image = synthetic_image(categories[k % 2], k, split=split)
        play(image, 4, seed=k)
        map_services.map_rebuild(image_id=image.pk)
        images.append(image)
    return images


def wait_for(job_id, client, states, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/training/jobs/{job_id}/").json()
        if body["status"] in states:
            return body
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} stayed {body['status']}")
