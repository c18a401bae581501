"""/dashboard/: staff only, with the service's health and figures."""

from tests.factories import RoundFactory


def test_dashboard_is_for_staff_only(client, db, django_user_model):
    assert client.get("/dashboard/").status_code == 302  # to the admin login
    client.force_login(django_user_model.objects.create_user("ada"))
    assert client.get("/dashboard/").status_code == 302
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    assert client.get("/dashboard/").status_code == 200


def test_dashboard_shows_health_activity_and_the_partner(client, django_user_model, ranked_partner, categories):
    from tests.conftest import synthetic_image

    RoundFactory(image=synthetic_image(categories[0], 0))
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    page = client.get("/dashboard/").content.decode()
    assert 'data-status="ok">ok' in page  # database and broker
    assert "1 in the last hour" in page and '<strong id="partner">ranked</strong>' in page
    assert '<td id="stale-maps">0</td>' in page
