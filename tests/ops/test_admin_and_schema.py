"""The admin pages of every game model open, a round shows its clicks over its image; the schema is served."""

import pytest

from tests.conftest import synthetic_image
from tests.factories import RoundFactory


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["category", "image", "player", "round", "partner"])
def test_admin_changelists_open_with_filters_and_search(staff_client, ranked_partner, categories, model):
    RoundFactory(image=synthetic_image(categories[0], 0), clicks=[[10, 20, 0]], n_clicks=1)
    response = staff_client.get(f"/admin/game/{model}/", {"q": "a"})
    assert response.status_code == 200


def test_admin_round_page_draws_the_clicks_over_the_image(staff_client, categories):
    round_ = RoundFactory(image=synthetic_image(categories[0], 0), clicks=[[10, 20, 0], [30, 40, 50]], n_clicks=2)
    page = staff_client.get(f"/admin/game/round/{round_.pk}/change/").content.decode()
    assert page.count("<rect ") == 2 and round_.image.file.url in page
    assert 'x="3.0" y="13.0" width="14.0"' in page


def test_admin_action_makes_a_partner_the_active_one(staff_client, ranked_partner):
    from game.models import Partner

    other = Partner.objects.create(
        name="other",
        architecture="exported",
        weights_file=ranked_partner.weights_file,
        category_mapping=ranked_partner.category_mapping,
        input_size=32,
    )
    staff_client.post("/admin/game/partner/", {"action": "make_active", "_selected_action": [other.pk]})
    assert list(Partner.objects.filter(is_active=True)) == [other]


def test_openapi_schema_lists_the_players_api(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/game/me/",
        "/api/game/rounds/",
        "/api/game/rounds/{round_id}/clicks/",
        "/api/game/rounds/{round_id}/finish/",
        "/api/game/leaderboard/",
    } <= set(paths)
    assert client.get("/api/docs/").status_code == 200
