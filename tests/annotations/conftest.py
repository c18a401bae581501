import numpy as np
import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from game.models import Round
from game.simulated_players import trajectory
from tests.conftest import synthetic_image
from tests.factories import PlayerFactory, RoundFactory


@pytest.fixture
def researcher(db, django_user_model):
    user = django_user_model.objects.create_user("ada")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client


@pytest.fixture
def staff(db, django_user_model):
    user = django_user_model.objects.create_user("boss", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def mask_of(image):
    from PIL import Image as PILImage

    with image.mask.open("rb") as handle, PILImage.open(handle) as mask:
        return np.asarray(mask) > 0


def play(image, n_players, careless=False, seed=0, state=Round.State.EXPIRED, n_clicks=60):
    """Completed rounds of simulated players on `image` (rows written directly, as the game would)."""
    rng = np.random.default_rng(seed)
    mask = mask_of(image)
    rounds = []
    for _ in range(n_players):
        clicks = trajectory(mask, rng, careless=careless, n_clicks=n_clicks).tolist()
        rounds.append(
            RoundFactory(
                image=image,
                player=PlayerFactory(),
                clicks=clicks,
                n_clicks=len(clicks),
                state=state,
                finished_at=timezone.now(),
            )
        )
    return rounds


@pytest.fixture
def played_images(categories):
    """Three images: two played by 6 careful players, one never played."""
    images = [synthetic_image(categories[k], k) for k in range(3)]
    play(images[0], 6, seed=1)
    play(images[1], 6, seed=2)
    return images
