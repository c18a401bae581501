"""/dashboard/: staff only, with the service's health and figures, and the series its plots draw."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import ClickMap
from frontend import selectors
from frontend.monitoring import dashboard_series
from game.models import Partner, Round
from tests.conftest import synthetic_image
from tests.factories import CategoryFactory, ImageFactory, PlayerFactory, RoundFactory
from training.models import TrainingJob

NOW = datetime(2026, 11, 27, 15, 40, tzinfo=UTC)


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    return client


def test_dashboard_is_for_staff_only(client, db, django_user_model):
    assert client.get("/dashboard/").status_code == 302  # to the admin login
    client.force_login(django_user_model.objects.create_user("ada"))
    assert client.get("/dashboard/").status_code == 302
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    assert client.get("/dashboard/").status_code == 200


def test_dashboard_shows_health_activity_and_the_partner(staff_client, ranked_partner, categories):
    RoundFactory(image=synthetic_image(categories[0], 0))
    page = staff_client.get("/dashboard/").content.decode()
    assert 'data-status="ok">ok' in page  # database and broker
    assert "1 in the last hour" in page and '<strong id="partner">ranked</strong>' in page
    assert '<td id="stale-maps">0</td>' in page
    assert '<table class="dashboard-table" id="validity">' in page  # registering computed its report


def test_a_partner_without_a_validity_report_is_said_to_have_none(staff_client, db):
    Partner.objects.create(name="bare", architecture="exported", weights_file="bare.pt2", is_active=True)
    page = staff_client.get("/dashboard/").content.decode()
    assert 'id="validity-missing"' in page and 'id="validity"' not in page


def test_dashboard_carries_its_series_as_json_and_draws_them_from_local_files(staff_client, db):
    page = staff_client.get("/dashboard/").content.decode()
    start = page.index('<script id="dashboard-series" type="application/json">') + len(
        '<script id="dashboard-series" type="application/json">'
    )
    series = json.loads(page[start : page.index("</script>", start)])
    assert set(series) >= {"activity_day", "activity_week", "coverage", "split_half_rho", "win_rate", "training"}
    assert len(series["activity_day"]["hours"]) == 24 and len(series["activity_week"]["hours"]) == 168
    assert "/static/frontend/vendor/chart.js/chart.umd.min.js" in page and "/static/frontend/dashboard.js" in page
    assert page.count('<canvas id="chart-') == 7
    import re

    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)  # no script or style from another host


def test_the_partner_panel_shows_the_validity_report_when_there_is_one(staff_client, db):
    validity = {"zero_click_win": 0.04, "careful_win": 0.9, "chance": 0.01, "top_k": 1, "unexpected": "x"}
    Partner.objects.create(
        name="p", architecture="exported", weights_file="p.pt2", metrics={"validity": validity}, is_active=True
    )
    page = staff_client.get("/dashboard/").content.decode()
    assert '<td data-key="zero_click_win">0.04</td>' in page and '<td data-key="careful_win">0.9</td>' in page
    assert '<td data-key="top_k">1</td>' in page
    assert "unexpected" not in page  # only the report's known keys, in their order
    assert (
        page.index('data-key="zero_click_win"') < page.index('data-key="careful_win"') < page.index('data-key="chance"')
    )


def test_rounds_and_active_players_per_hour(db):
    image, other = ImageFactory(), ImageFactory()
    alice, bob = PlayerFactory(), PlayerFactory()
    this_hour = NOW.replace(minute=5)
    RoundFactory(player=alice, image=image, started_at=this_hour, state="won")
    RoundFactory(player=alice, image=other, started_at=this_hour + timedelta(minutes=20))
    RoundFactory(player=bob, image=image, started_at=NOW - timedelta(hours=2))
    RoundFactory(
        player=bob, image=other, started_at=NOW - timedelta(hours=30), state="won"
    )  # outside the day, inside the week

    day = selectors.rounds_per_hour(now=NOW, hours=24)
    assert day["hours"][-1] == "2026-11-27T15:00:00+00:00" and day["hours"][0] == "2026-11-26T16:00:00+00:00"
    assert day["rounds"][-1] == 2 and day["players"][-1] == 1  # alice twice
    assert day["rounds"][-3] == 1 and day["players"][-3] == 1
    assert sum(day["rounds"]) == 3
    week = selectors.rounds_per_hour(now=NOW, hours=168)
    assert len(week["hours"]) == 168 and sum(week["rounds"]) == 4 and week["rounds"][-31] == 1
    # The dashboard draws the day from the week's query: the same numbers.
    assert dashboard_series(NOW)["activity_day"] == day


def test_map_coverage_by_category(db):
    dogs, cats = CategoryFactory(name="dog"), CategoryFactory(name="cat")
    with_map = [ImageFactory(category=dogs) for _ in range(3)]
    ImageFactory(category=dogs, retired=True)
    ImageFactory(category=cats)
    for image in with_map[:2]:
        ClickMap.objects.create(image=image, data=b"", height=256, width=256, n_players=3, n_clicks=30, updated_at=NOW)
    assert selectors.map_coverage_by_category() == [
        {"name": "cat", "n_images": 1, "n_active": 1, "n_maps": 0},
        {"name": "dog", "n_images": 4, "n_active": 3, "n_maps": 2},
    ]


def test_mean_split_half_rho_per_day_of_rebuild(db):
    for rho, days_ago in [(0.4, 0), (0.6, 0), (0.9, 2), (None, 0), (0.1, 40)]:
        ClickMap.objects.create(
            image=ImageFactory(),
            data=b"",
            height=256,
            width=256,
            n_players=3,
            n_clicks=30,
            split_half_rho=rho,
            updated_at=NOW - timedelta(days=days_ago),
        )
    series = selectors.split_half_rho_by_day(now=NOW, days=30)
    assert len(series["days"]) == 30 and series["days"][-1] == "2026-11-27"
    assert series["mean_rho"][-1] == pytest.approx(0.5) and series["n_maps"][-1] == 2
    assert series["mean_rho"][-3] == pytest.approx(0.9) and series["mean_rho"][-2] is None
    assert sum(series["n_maps"]) == 3  # no rho, or older than 30 days: not drawn


def test_partner_win_rate_per_day_counts_completed_rounds_only(db):
    old = Partner.objects.create(name="old", architecture="exported", weights_file="a")
    new = Partner.objects.create(name="new", architecture="exported", weights_file="b")
    today, yesterday = NOW - timedelta(hours=1), NOW - timedelta(days=1)
    for partner, state, finished in [
        (new, Round.State.WON, today),
        (new, Round.State.EXPIRED, today),
        (new, Round.State.WON, today),
        (new, Round.State.SKIPPED, today),  # neither won nor lost
        (new, Round.State.OPEN, None),
        (old, Round.State.EXPIRED, yesterday),
    ]:
        RoundFactory(partner=partner, state=state, started_at=(finished or NOW), finished_at=finished)
    series = selectors.partner_win_rate_by_day(now=NOW, days=14)
    rates = {p["name"]: p for p in series["partners"]}
    assert set(rates) == {"old", "new"}
    assert rates["new"]["win_rate"][-1] == pytest.approx(2 / 3) and rates["new"]["completed"][-1] == 3
    assert rates["new"]["win_rate"][-2] is None
    assert rates["old"]["win_rate"][-2] == 0.0 and rates["old"]["completed"][-2] == 1


def test_training_curves_of_the_latest_jobs(db):
    TrainingJob.objects.create(config={"arch": "resnet_tiny"}, history=[])  # queued: nothing to draw
    job = TrainingJob.objects.create(
        config={"arch": "gala_resnet_tiny"},
        status=TrainingJob.Status.DONE,
        history=[
            {"epoch": 1, "train_loss": 2.0, "train_top1": 0.3, "val_top1": 0.25, "val_attention_rho": 0.1},
            {"epoch": 2, "train_loss": 1.5, "train_top1": 0.5},
        ],
    )
    [curve] = selectors.training_curves(limit=5)
    assert curve["id"] == str(job.id) and curve["label"].startswith("gala_resnet_tiny ")
    assert curve["epochs"] == [1, 2] and curve["train_loss"] == [2.0, 1.5]
    assert curve["val_top1"] == [0.25, None] and curve["val_attention_rho"] == [0.1, None]


def _series_queries():
    with CaptureQueriesContext(connection) as queries:
        dashboard_series(NOW)
    return len(queries)


def test_the_series_cost_a_fixed_number_of_queries_whatever_the_number_of_rounds(db):
    partner = Partner.objects.create(name="p", architecture="exported", weights_file="a")
    image = ImageFactory()
    RoundFactory(image=image, partner=partner, state=Round.State.WON, finished_at=NOW)
    few = _series_queries()
    images = [ImageFactory(category=CategoryFactory()) for _ in range(20)]
    for k in range(200):
        RoundFactory(
            image=images[k % 20],
            partner=partner,
            state=Round.State.EXPIRED,
            started_at=NOW - timedelta(hours=k % 150),
            finished_at=NOW - timedelta(hours=k % 150),
        )
    for _ in range(5):
        TrainingJob.objects.create(config={"arch": "a"}, history=[{"epoch": 1, "train_loss": 1.0}])
    assert _series_queries() == few <= 8


def test_the_admin_index_links_to_the_dashboard(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw"))
    page = client.get("/admin/").content.decode()
    assert 'href="/dashboard/" id="dashboard-link"' in page and 'id="monitoring-module"' in page
