"""The participants' API: joining, answering in order, and every bad input refused with nothing changed."""

import threading

import pytest
from django.db import connection

from psychophysics.experiments import experiment_close
from psychophysics.models import Participant, Trial

from .conftest import ParticipantClient, make_experiment, ready

pytestmark = pytest.mark.django_db


def snapshot(participant_id):
    """Everything stored about a participant's trials, to show a refused request changed nothing."""
    participant = Participant.objects.get(pk=participant_id)
    trials = list(
        Trial.objects.filter(participant_id=participant_id)
        .order_by("index")
        .values_list("responded_at", "response_key", "is_correct", "rt_ms", "shown_frames", "timing")
    )
    return participant.next_index, participant.completed_at, trials


def only_participant():
    return Participant.objects.get()


def test_joining_needs_consent_and_plans_practice_then_main_trials(experiment):
    participant = ParticipantClient(experiment.slug)
    refused = participant.post("participant/", {"consent": False})
    assert refused.status_code == 400 and refused.json()["code"] == "consent_required"
    assert not Participant.objects.exists()

    response = participant.post("participant/", {"consent": True})
    assert response.status_code == 201
    state = response.json()
    stored = only_participant()
    assert state["phase"] == "practice"
    assert (state["n_practice"], state["n_main"]) == (2, 8)
    assert stored.n_trials == 10 and stored.trials.count() == 10
    assert [t["index"] for t in state["trials"]] == [0, 1, 2]
    assert "correct_key" not in str(state) and "source" not in str(state)  # nothing gives the answer away
    main = stored.trials.filter(phase="main")
    assert main.values("image").distinct().count() == 8  # no image twice


def test_a_second_join_or_a_reload_resumes_the_same_participant(experiment):
    participant = ParticipantClient(experiment.slug)
    first = participant.join()
    participant.answer(first["trials"][0]["id"])
    again = participant.post("participant/", {"consent": True})
    assert again.status_code == 200
    assert again.json()["participant_id"] == first["participant_id"]
    assert again.json()["trials"][0]["index"] == 1
    page = participant.client.get(f"/experiments/{experiment.slug}/").content.decode()
    assert first["participant_id"] in page  # the page starts from the stored state
    assert Participant.objects.count() == 1


def test_answers_are_stored_as_each_trial_ends_and_the_end_shows_the_completion_code(experiment):
    participant = ParticipantClient(experiment.slug)
    state = participant.join()
    practice = participant.answer(state["trials"][0]["id"], key="j", rt_ms=612.25)
    assert practice.status_code == 200
    feedback = practice.json()["trial"]
    assert feedback["phase"] == "practice" and feedback["correct"] is not None
    assert feedback["correct_label"] in {"animal", "not animal"}
    stored = Trial.objects.get(pk=state["trials"][0]["id"])
    assert stored.responded_at is not None and stored.response_key == "j" and stored.rt_ms == 612.25
    assert stored.is_correct == (stored.correct_key == "j")
    assert (stored.requested_frames, stored.shown_frames, stored.shown_stimulus_ms) == (3, 3, 50.1)
    assert stored.timing == {"mask_shown_ms": 100.2, "page_hidden": False}

    state = practice.json()["state"]
    while state["phase"] != "completed":
        response = participant.answer(state["trials"][0]["id"], key=None, rt_ms=None)  # too slow: no key
        assert response.status_code == 200
        if response.json()["trial"]["phase"] == "main":
            assert response.json()["trial"]["correct"] is None  # no feedback in the main block
        state = response.json()["state"]
    assert state["completion_code"] == "C0DE42" and state["trials"] == []
    stored = only_participant()
    assert stored.completed_at is not None and stored.next_index == 10
    assert stored.trials.filter(timed_out=True, is_correct=False, response_key="").count() == 9


def test_a_key_outside_the_allowed_ones_is_refused_and_nothing_changes(experiment):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    before = snapshot(only_participant().pk)
    for key in ("k", "F", "Enter", " ", ""):
        response = participant.answer(trial_id, key=key)
        assert response.status_code == 400, key
        assert response.json()["code"] == "invalid_key" and "key" in response.json()["detail"]
    assert snapshot(only_participant().pk) == before


def test_an_answer_out_of_order_duplicated_or_for_someone_elses_trial_is_refused_and_nothing_changes(experiment):
    alice, bob = ParticipantClient(experiment.slug), ParticipantClient(experiment.slug)
    alice_trials = alice.join()["trials"]
    bob_first = bob.join()["trials"][0]["id"]
    alice_id = Participant.objects.get(public_id=alice.get("participant/").json()["participant_id"]).pk
    before = snapshot(alice_id)

    ahead = alice.answer(alice_trials[1]["id"])
    assert ahead.status_code == 409 and ahead.json()["code"] == "out_of_order"
    not_hers = alice.answer(bob_first)
    assert not_hers.status_code == 404 and not_hers.json()["code"] == "not_found"
    for missing in ("999999999", "abc", "-1", "99999999999999999999999"):
        assert alice.answer(missing).status_code == 404
    assert snapshot(alice_id) == before

    assert alice.answer(alice_trials[0]["id"]).status_code == 200
    after_first = snapshot(alice_id)
    duplicate = alice.answer(alice_trials[0]["id"], key="j")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "already_answered"
    assert snapshot(alice_id) == after_first
    assert Trial.objects.get(pk=alice_trials[0]["id"]).response_key == "f"  # the first answer stays


def test_answers_after_the_experiment_closed_are_refused_and_joining_too(experiment):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    before = snapshot(only_participant().pk)
    experiment_close(experiment=experiment)
    closed = participant.answer(trial_id)
    assert closed.status_code == 409 and closed.json()["code"] == "experiment_closed"
    assert snapshot(only_participant().pk) == before
    newcomer = ParticipantClient(experiment.slug)
    refused = newcomer.post("participant/", {"consent": True})
    assert refused.status_code == 409 and refused.json()["code"] == "experiment_closed"
    assert Participant.objects.count() == 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"rt_ms": -1.0}, "rt_ms"),
        ({"rt_ms": 60_000.0}, "rt_ms"),
        ({"rt_ms": None}, "rt_ms"),
        ({"key": None, "rt_ms": 300.0}, "rt_ms"),
        ({"rt_ms": "fast"}, "rt_ms"),
        ({"shown_frames": 0}, "shown_frames"),
        ({"shown_frames": 2.5}, "shown_frames"),
        ({"requested_frames": None}, "requested_frames"),
        ({"shown_stimulus_ms": -3}, "shown_stimulus_ms"),
        ({"frame_interval_ms": 0}, "frame_interval_ms"),
        ({"timing": {"nested": {"a": 1}}}, "timing"),
        ({"timing": {f"k{i}": 1 for i in range(30)}}, "timing"),
        ({"timing": "text"}, "timing"),
        ({"score": 100}, "score"),
    ],
)
def test_malformed_answers_get_400_naming_the_field_and_nothing_changes(experiment, overrides, field):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    before = snapshot(only_participant().pk)
    response = participant.answer(trial_id, **overrides)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(field)
    assert snapshot(only_participant().pk) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"shown_frames": 3, "shown_stimulus_ms": 59_999.0},  # issue 20: 3 frames cannot last a minute
        {"shown_frames": 3, "shown_stimulus_ms": 0.0},
        {"shown_frames": 1, "shown_stimulus_ms": 120.0, "frame_interval_ms": 16.7},  # 120 ms off, past 50
        {"shown_frames": 30, "shown_stimulus_ms": 80.0, "frame_interval_ms": 6.9},  # 144 Hz: 207 ms expected
    ],
)
def test_a_stimulus_duration_inconsistent_with_its_frames_is_refused_and_nothing_changes(experiment, overrides):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    before = snapshot(only_participant().pk)
    response = participant.answer(trial_id, **overrides)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "inconsistent_timing" and body["detail"].startswith("shown_stimulus_ms"), body
    assert snapshot(only_participant().pk) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"shown_frames": 3, "shown_stimulus_ms": 50.1, "frame_interval_ms": 16.7},  # as requested
        {"shown_frames": 2, "shown_stimulus_ms": 50.0, "frame_interval_ms": 16.7},  # one dropped frame
        {"shown_frames": 1, "shown_stimulus_ms": 50.0, "frame_interval_ms": 16.7},  # two dropped frames
        {"shown_frames": 3, "shown_stimulus_ms": 47.2, "frame_interval_ms": 16.7},  # jitter, timer coarsening
        {"shown_frames": 7, "shown_stimulus_ms": 90.0, "frame_interval_ms": 6.9},  # a 40 ms hiccup at 144 Hz
    ],
)
def test_a_stimulus_duration_a_real_display_gives_is_stored(experiment, overrides):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    response = participant.answer(trial_id, **overrides)
    assert response.status_code == 200, response.content
    assert Trial.objects.get(pk=trial_id).shown_stimulus_ms == overrides["shown_stimulus_ms"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '{"key": NaN}', "null"])
def test_bodies_that_are_not_an_answer_object_are_refused(experiment, raw):
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    before = snapshot(only_participant().pk)
    response = participant.post(f"trials/{trial_id}/", raw=raw)
    assert response.status_code == 400 and set(response.json()) >= {"detail", "code"}
    assert snapshot(only_participant().pk) == before


def test_posts_without_the_csrf_token_are_refused(experiment):
    participant = ParticipantClient(experiment.slug)
    assert participant.post("participant/", {"consent": True}, csrf=False).status_code == 403
    assert not Participant.objects.exists()
    trial_id = participant.join()["trials"][0]["id"]
    assert participant.answer(trial_id).status_code == 200
    state = participant.get("participant/").json()
    response = participant.post(f"trials/{state['trials'][0]['id']}/", {"key": "f"}, csrf=False)
    assert response.status_code == 403


def test_a_browser_that_has_not_joined_gets_no_state_no_stimuli_and_cannot_answer(experiment):
    joined = ParticipantClient(experiment.slug)
    trial_id = joined.join()["trials"][0]["id"]
    stranger = ParticipantClient(experiment.slug)
    assert stranger.get("participant/").json()["code"] == "not_joined"
    assert stranger.client.get(f"/api/experiments/{experiment.slug}/trials/{trial_id}/stimulus.png").status_code == 404
    assert stranger.answer(trial_id).status_code == 404
    assert not Trial.objects.filter(responded_at__isnull=False).exists()


def test_a_participant_gets_the_stored_stimulus_and_mask_of_their_own_trials_only(experiment, settings):
    alice, bob = ParticipantClient(experiment.slug), ParticipantClient(experiment.slug)
    trial = alice.join()["trials"][0]
    bob_trial = bob.join()["trials"][0]
    stored = Trial.objects.select_related("stimulus", "mask").get(pk=trial["id"])
    response = alice.client.get(trial["stimulus_url"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == (settings.PRIVATE_ROOT / stored.stimulus.file).read_bytes()
    mask = alice.client.get(trial["mask_url"])
    assert b"".join(mask.streaming_content) == (settings.PRIVATE_ROOT / stored.mask.file).read_bytes()
    assert alice.client.get(bob_trial["stimulus_url"]).status_code == 404
    assert alice.client.get(f"/media/{stored.stimulus.file}").status_code == 404  # not public media


def test_the_same_prolific_id_resumes_and_after_completion_cannot_join_again(experiment):
    first = ParticipantClient(experiment.slug)
    state = first.join(platform="prolific", external_id="5f0c1d2e3a4b")
    stored = only_participant()
    assert stored.external_id_hash and "5f0c1d2e3a4b" not in stored.external_id_hash
    assert stored.platform == "prolific"
    second_browser = ParticipantClient(experiment.slug)
    crowd_id = {"consent": True, "platform": "prolific", "external_id": "5f0c1d2e3a4b"}
    resumed = second_browser.post("participant/", {**crowd_id, "resume_code": state["resume_code"].lower()})
    assert resumed.status_code == 200 and resumed.json()["participant_id"] == state["participant_id"]
    second_browser.run_all()
    third_browser = ParticipantClient(experiment.slug)
    again = third_browser.post("participant/", {"consent": True, "platform": "prolific", "external_id": "5f0c1d2e3a4b"})
    assert again.status_code == 409 and again.json()["code"] == "already_completed"
    assert Participant.objects.count() == 1
    bad = third_browser.post("participant/", {"consent": True, "external_id": "<script>"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("external_id")


def test_participants_are_spread_over_the_latin_square_and_balance_the_conditions(two_categories):
    experiment = ready(make_experiment(two_categories, n_per_category=4, levels=(20, 100), slug="balance"))
    seen = {}
    for _ in range(4):  # 2 sources x 2 levels = 4 groups
        ParticipantClient(experiment.slug).join()
    groups = sorted(Participant.objects.values_list("group", flat=True))
    assert groups == [0, 1, 2, 3]
    for trial in Trial.objects.filter(phase="main"):
        seen.setdefault(trial.image_id, set()).add((trial.source, trial.level_pct))
    # every image was shown once in each of the four conditions
    assert all(
        cells == {("clickme", 20), ("clickme", 100), ("saliency", 20), ("saliency", 100)} for cells in seen.values()
    )
    per_participant = Trial.objects.filter(phase="main", participant__group=0).values_list("source", "level_pct")
    assert sorted(per_participant) == sorted(
        [("clickme", 20), ("clickme", 100), ("saliency", 20), ("saliency", 100)] * 2
    )


def test_a_draft_experiment_is_not_found_by_participants(two_categories):
    make_experiment(two_categories, slug="draft")
    from django.test import Client

    assert Client().get("/experiments/draft/").status_code == 404
    assert Client().get("/api/experiments/draft/").json()["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_trial_store_one_answer(two_categories):
    experiment = ready(make_experiment(two_categories, slug="race"))
    participant = ParticipantClient(experiment.slug)
    trial_id = participant.join()["trials"][0]["id"]
    statuses, barrier = [], threading.Barrier(2)

    def post(key):
        barrier.wait()
        statuses.append(participant.answer(trial_id, key=key).status_code)
        connection.close()

    threads = [threading.Thread(target=post, args=(key,)) for key in ("f", "j")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert only_participant().next_index == 1
    assert Trial.objects.filter(responded_at__isnull=False).count() == 1


def test_knowing_someones_prolific_id_does_not_take_over_their_unfinished_run(experiment):
    """A crowd id resumes a run only in the browser that started it, or with the resume code shown
    there; another browser with the id alone (or a wrong code) gets 409 started_elsewhere and nothing."""
    owner = ParticipantClient(experiment.slug)
    state = owner.join(platform="prolific", external_id="5f0c1d2e3a4b")
    code = state["resume_code"]
    assert code and len(code) == 11 and code[5] == "-"
    assert owner.get("participant/").json()["resume_code"] == code  # the same on every load of the page
    crowd_id = {"consent": True, "platform": "prolific", "external_id": "5f0c1d2e3a4b"}
    intruder = ParticipantClient(experiment.slug)
    for body in (crowd_id, {**crowd_id, "resume_code": "AAAAA-AAAAA"}):
        refused = intruder.post("participant/", body)
        assert refused.status_code == 409 and refused.json()["code"] == "started_elsewhere", refused.content
    assert intruder.get("participant/").status_code == 404  # bound to nothing
    first_trial = state["trials"][0]["id"]
    assert intruder.answer(first_trial).status_code == 404
    assert intruder.client.get(state["trials"][0]["stimulus_url"]).status_code == 404
    assert Participant.objects.count() == 1
    assert owner.answer(first_trial).status_code == 200  # the owner's run goes on untouched
    assert owner.join(platform="prolific", external_id="5f0c1d2e3a4b")["participant_id"] == state["participant_id"]
    other = ParticipantClient(experiment.slug).join(platform="prolific", external_id="0ther1d")
    assert other["resume_code"] != code
    assert ParticipantClient(experiment.slug).join()["resume_code"] is None  # no crowd id: nothing to resume by
