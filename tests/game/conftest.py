import json

import pytest
from django.test import Client

from tests.conftest import synthetic_image


class PlayerClient:
    """A browser-like player: session cookie, CSRF token from the game page, JSON bodies."""

    def __init__(self):
        self.client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="pytest-player")
        self.client.get("/")
        self.csrf = self.client.cookies["csrftoken"].value

    def post(self, path, body=None, csrf=True, raw=None):
        headers = {"X-CSRFToken": self.csrf} if csrf else {}
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data=data, content_type="application/json", headers=headers)

    def patch(self, path, body):
        return self.client.patch(
            path, data=json.dumps(body), content_type="application/json", headers={"X-CSRFToken": self.csrf}
        )

    def get(self, path, **params):
        return self.client.get(path, params)

    def start(self):
        response = self.post("/api/game/rounds/")
        assert response.status_code == 201, response.content
        return response.json()

    def clicks(self, round_id, clicks):
        return self.post(f"/api/game/rounds/{round_id}/clicks/", {"clicks": clicks})


@pytest.fixture
def player_client(db):
    return PlayerClient()


@pytest.fixture
def make_player(db):
    return PlayerClient


@pytest.fixture
def unrecognised_images(categories):
    """Images of the two categories the ranked partner never puts in its top 5."""
    return [synthetic_image(categories[5 + k % 2], k) for k in range(4)]


@pytest.fixture
def recognised_images(categories):
    return [synthetic_image(categories[k], k) for k in range(3)]


@pytest.fixture
def no_kept_copies():
    """Each test starts and ends with no per-process copy of a round or of a session's player."""
    from game import open_rounds, services

    open_rounds.clear()
    services._session_players.clear()
    yield
    open_rounds.clear()
    services._session_players.clear()
