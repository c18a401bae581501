"""A researcher configures an experiment in the admin, opens it and reads the results page."""

import pytest

from psychophysics.models import Experiment, ObserverRun
from tests.landmarks import landmarks_of

from .conftest import ParticipantClient, make_experiment, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.org", "pw"))
    return client


def form_data(categories, **overrides):
    data = {
        "title": "Animal or not",
        "slug": "animal",
        "consent_text": "Agree?",
        "instructions": "",
        "choice_a_label": "red",
        "choice_a_key": "f",
        "choice_a_categories": [categories[0].pk],
        "choice_b_label": "blue",
        "choice_b_key": "j",
        "choice_b_categories": [categories[1].pk],
        "images": [],
        "fill_images_split": "val",
        "fill_per_category": "",
        "practice_images": [],
        "fill_practice_split": "train",
        "feature_sources": '["clickme", "saliency"]',
        "reveal_levels": "[20, 100]",
        "n_trials": "8",
        "n_practice": "2",
        "trials_per_block": "0",
        "seed": "0",
        "fixation_ms": "500",
        "stimulus_ms": "100",
        "mask_ms": "500",
        "response_window_ms": "2000",
        "display_size_px": "256",
        "completion_code": "ABC123",
        "completion_url": "",
    }
    data.update(overrides)
    return data


def test_an_experiment_is_configured_in_the_admin_filling_images_from_the_choices_categories(
    admin_client, two_categories
):
    source = make_experiment(two_categories, slug="source")  # makes the val and train images
    response = admin_client.post("/admin/psychophysics/experiment/add/", form_data(two_categories))
    assert response.status_code == 302, response.content.decode()[:3000]
    experiment = Experiment.objects.get(slug="animal")
    assert set(experiment.images.values_list("pk", flat=True)) == set(source.images.values_list("pk", flat=True))
    assert set(experiment.practice_images.values_list("pk", flat=True)) == set(
        source.practice_images.values_list("pk", flat=True)
    )
    assert experiment.status == "draft" and experiment.reveal_levels == [20, 100]


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"n_trials": "9"}, "n_trials", "only 8 images"),
        ({"reveal_levels": "[0, 100]"}, "reveal_levels", "from 1 to 100"),
        ({"feature_sources": '["random"]'}, "feature_sources", "unknown source"),
        ({"choice_b_key": "f"}, "choice_b_key", "must differ"),
        ({"n_practice": "5"}, "n_practice", "only"),
        ({"fill_images_split": "test"}, "images", "choose the images"),
    ],
)
def test_a_design_that_cannot_be_balanced_is_refused_in_the_admin_naming_the_field(
    admin_client, two_categories, overrides, field, message
):
    make_experiment(two_categories, slug="source")
    response = admin_client.post("/admin/psychophysics/experiment/add/", form_data(two_categories, **overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in str(errors[field]), errors
    assert not Experiment.objects.filter(slug="animal").exists()


def test_admin_actions_generate_open_and_close(admin_client, two_categories, django_capture_on_commit_callbacks):
    experiment = make_experiment(two_categories, slug="actions")
    url = "/admin/psychophysics/experiment/"
    response = admin_client.post(url, {"action": "open_experiments", "_selected_action": [experiment.pk]}, follow=True)
    assert "generate them first" in response.content.decode()
    experiment.refresh_from_db()
    assert experiment.status == "draft"
    with django_capture_on_commit_callbacks() as queued:
        admin_client.post(url, {"action": "generate_stimuli", "_selected_action": [experiment.pk]})
    assert len(queued) == 1 and Experiment.objects.get(pk=experiment.pk).stimuli_state == "queued"
    from psychophysics.stimulus_generation import stimuli_generate

    stimuli_generate(experiment_id=experiment.pk)
    admin_client.post(url, {"action": "open_experiments", "_selected_action": [experiment.pk]})
    assert Experiment.objects.get(pk=experiment.pk).status == "open"
    admin_client.post(url, {"action": "close_experiments", "_selected_action": [experiment.pk]})
    assert Experiment.objects.get(pk=experiment.pk).status == "closed"


def test_the_design_is_read_only_in_the_admin_once_anyone_has_joined(admin_client, experiment):
    ParticipantClient(experiment.slug).join()
    page = admin_client.get(f"/admin/psychophysics/experiment/{experiment.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "reveal_levels" not in form.fields and "images" not in form.fields and "title" in form.fields
    response = admin_client.post(
        f"/admin/psychophysics/experiment/{experiment.pk}/change/",
        {"title": "Renamed", "slug": experiment.slug, "consent_text": "x", "instructions": "", "trials_per_block": 0,
         "display_size_px": 256, "completion_code": "NEW", "completion_url": "", "reveal_levels": "[1]"},
    )  # fmt: skip
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.title == "Renamed" and experiment.reveal_levels == [20, 100]


@pytest.mark.parametrize("model", ["experiment", "participant", "trial", "stimulus", "observerrun"])
def test_admin_pages_open(admin_client, experiment, model):
    ParticipantClient(experiment.slug).run_all()
    assert admin_client.get(f"/admin/psychophysics/{model}/").status_code == 200
    assert admin_client.get(f"/admin/psychophysics/{model}/", {"q": "a"}).status_code == 200


def test_an_observer_run_added_in_the_admin_is_queued(
    admin_client, categories, ranked_partner, django_capture_on_commit_callbacks
):
    experiment = ready(make_experiment((categories[0], categories[2]), slug="admin-observer"))
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            "/admin/psychophysics/observerrun/add/", {"experiment": experiment.pk, "partner": ranked_partner.pk}
        )
    assert response.status_code == 302
    assert len(queued) == 1
    assert ObserverRun.objects.get().status == "queued"


def test_the_participant_page_is_csp_clean_and_carries_its_data_as_json(client, experiment):
    page = client.get(f"/experiments/{experiment.slug}/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert '<script id="experiment-config" type="application/json">' in html
    assert '<script type="module" src="/static/psychophysics/experiment.js">' in html
    scripts = html.count("<script")
    assert scripts == 2  # the JSON data block and the module: no inline code
    assert " on" not in html.replace("\n", " ").split("<body", 1)[1].split(">", 1)[0]
    assert "onclick" not in html and "javascript:" not in html
    assert "correct_key" not in html


def test_the_results_page_is_for_staff_and_researchers_with_the_permission(
    admin_client, experiment, django_user_model, settings
):
    from django.contrib.auth.models import Permission
    from django.test import Client

    url = f"/experiments/{experiment.slug}/results/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    ParticipantClient(experiment.slug).run_all()
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/api/v1/experiments/{experiment.slug}/results.png" in html and "<script" not in html
    assert 'id="human-table"' in html and "C0DE42" not in html
    sample = html.split('<div class="rs-strip">')[1].split('src="')[1].split('"')[0]
    assert sample.startswith(f"/experiments/{experiment.slug}/results/stimuli/")
    assert admin_client.get(sample).status_code == 200
    assert Client().get(sample).status_code == 302  # researchers only
    stimulus = experiment.stimuli.first()
    assert not str(settings.PRIVATE_ROOT / stimulus.file).startswith(str(settings.MEDIA_ROOT))
    assert Client().get(f"/media/{stimulus.file}").status_code == 404  # no public URL reaches a stimulus
    reader = django_user_model.objects.create_user("reader", password="pw")
    visitor = Client()
    visitor.force_login(reader)
    assert visitor.get(url).status_code == 302
    reader.user_permissions.add(Permission.objects.get(codename="view_experiment"))
    assert visitor.get(url).status_code == 200


def test_the_experiment_pages_and_the_page_of_an_unknown_experiment_have_one_main_landmark(
    admin_client, client, experiment
):
    participant = client.get(f"/experiments/{experiment.slug}/")
    results = admin_client.get(f"/experiments/{experiment.slug}/results/")
    unknown = client.get("/experiments/no-such-experiment/")
    unknown_results = admin_client.get("/experiments/no-such-experiment/results/")
    assert (participant.status_code, results.status_code) == (200, 200)
    assert (unknown.status_code, unknown_results.status_code) == (404, 404)
    for response in (participant, results, unknown, unknown_results):
        assert landmarks_of(response.content.decode()).n_main == 1, response.request["PATH_INFO"]
    # The participant's page shows one screen at a time, each with its own heading (tests/browser).
    for response in (results, unknown, unknown_results):
        assert len(landmarks_of(response.content.decode()).visible_h1) == 1, response.request["PATH_INFO"]
