"""A participant runs the rapid-categorisation experiment in real headless Chromium with the keyboard:
consent, practice with feedback, the main block (with a lost connection and a reload), the end.
The page is served under `Content-Security-Policy: script-src 'self'`, as the site will serve it."""

import statistics
from collections import Counter

import pytest
from playwright.sync_api import expect

from psychophysics.models import Participant, Trial
from tests.factories import CategoryFactory
from tests.psychophysics.conftest import make_experiment, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CSP = "script-src 'self'; object-src 'none'; base-uri 'none'"


def serve_with_csp(page, violations):
    def add_header(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route("**/experiments/**", add_header)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))


def wait_screen(page, screen):
    page.wait_for_function("s => document.body.dataset.screen === s", arg=screen)


def wait_response_screen(page, after_trial_id):
    """Wait until a trial other than `after_trial_id` shows its response screen; returns its id."""
    page.wait_for_function(
        "prev => document.body.dataset.awaiting === 'response' && document.body.dataset.trialId !== prev",
        arg=str(after_trial_id),
        timeout=10_000,
    )
    return int(page.evaluate("document.body.dataset.trialId"))


def watch_next_key(page):
    """Record the next keydown as the page's own listener left it: whether it took the key
    (preventDefault) and, one frame later, whether the trial still awaits a response."""
    page.evaluate(
        """() => {
        window.__nextKey = null;
        document.addEventListener("keydown", (event) => {
          const handled = event.defaultPrevented;  // the page's listener, registered first, has run
          requestAnimationFrame(() => {
            window.__nextKey = { key: event.key, handled, awaiting: document.body.dataset.awaiting };
          });
        }, { once: true });
      }"""
    )


def next_key_seen(page):
    page.wait_for_function("() => window.__nextKey !== null", timeout=5_000)
    return page.evaluate("window.__nextKey")


def keys_of(trial_id):
    trial = Trial.objects.select_related("participant__experiment").get(pk=trial_id)
    right = trial.correct_key
    return right, ("j" if right == "f" else "f")


def test_a_participant_runs_the_experiment_with_the_keyboard_and_every_trial_is_stored(page, screenshot_dir):
    categories = (
        CategoryFactory(name="red ring", wnid="s0000000"),
        CategoryFactory(name="blue saltire", wnid="s0000002"),
    )
    experiment = ready(make_experiment(categories, n_per_category=4, levels=(20, 100), slug="browser"))
    violations = []
    serve_with_csp(page, violations)
    pressed = {}  # trial id -> key the participant pressed (None: no answer in the window)

    page.goto("/experiments/browser/?PROLIFIC_PID=5f1e2d3c4b5a&STUDY_ID=s1")
    expect(page.locator("#consent-accept")).to_be_visible()
    page.locator("#consent-accept").focus()
    page.keyboard.press("Enter")
    wait_screen(page, "instructions")
    expect(page.locator("#instructions-text")).to_contain_text("practice")
    page.keyboard.press(" ")

    # Practice: a key that is not a choice is ignored; then one right answer, one wrong.
    trial_id = wait_response_screen(page, None)
    watch_next_key(page)
    page.keyboard.press("k")
    assert next_key_seen(page) == {"key": "k", "handled": False, "awaiting": "response"}
    right, wrong = keys_of(trial_id)
    page.keyboard.press(right.upper())  # either case counts
    pressed[trial_id] = right
    expect(page.locator("#feedback")).to_have_text("Correct.")
    trial_id = wait_response_screen(page, trial_id)
    right, wrong = keys_of(trial_id)
    page.keyboard.press(wrong)
    pressed[trial_id] = wrong
    expect(page.locator("#feedback")).to_contain_text("Wrong: it was")
    page.screenshot(path=str(screenshot_dir / "experiment-feedback.png"))

    wait_screen(page, "instructions")
    expect(page.locator("#instructions-text")).to_contain_text("without feedback")
    page.keyboard.press(" ")

    # Main block: two right answers, then one trial left without an answer (too slow).
    for _ in range(2):
        trial_id = wait_response_screen(page, trial_id)
        pressed[trial_id] = keys_of(trial_id)[0]
        page.keyboard.press(pressed[trial_id])
    trial_id = wait_response_screen(page, trial_id)
    pressed[trial_id] = None
    page.screenshot(path=str(screenshot_dir / "experiment-response.png"))

    # The connection drops as the next answer is sent: the page keeps it and says so; the
    # participant reloads; the kept answer is sent on load and the block resumes where it stopped.
    trial_id = wait_response_screen(page, trial_id)
    page.route("**/api/experiments/browser/trials/*/", lambda route: route.abort())
    pressed[trial_id] = keys_of(trial_id)[1]
    page.keyboard.press(pressed[trial_id])
    expect(page.locator("#status")).to_contain_text("Connection problem")
    assert Trial.objects.get(pk=trial_id).responded_at is None
    page.unroute("**/api/experiments/browser/trials/*/")
    page.reload()
    wait_screen(page, "instructions")
    expect(page.locator("#instructions-text")).to_contain_text("Welcome back")
    assert Trial.objects.get(pk=trial_id).response_key == pressed[trial_id]
    page.keyboard.press(" ")

    while True:
        page.wait_for_function(
            "prev => document.body.dataset.screen === 'end' || (document.body.dataset.awaiting === 'response'"
            " && document.body.dataset.trialId !== prev)",
            arg=str(trial_id),
            timeout=10_000,
        )
        if page.evaluate("document.body.dataset.screen") == "end":
            break
        trial_id = int(page.evaluate("document.body.dataset.trialId"))
        pressed[trial_id] = keys_of(trial_id)[0]
        page.keyboard.press(pressed[trial_id])
    expect(page.locator("#end-code")).to_have_text("C0DE42")
    page.screenshot(path=str(screenshot_dir / "experiment-end.png"))
    assert violations == []

    # What the server stored: every trial once, in order, with what was pressed.
    participant = Participant.objects.get()
    assert participant.completed_at is not None and participant.platform == "prolific"
    assert participant.external_id_hash and "5f1e2d3c4b5a" not in participant.external_id_hash
    trials = list(participant.trials.order_by("index"))
    assert len(trials) == 10 and all(t.responded_at is not None for t in trials)
    assert [t.responded_at for t in trials] == sorted(t.responded_at for t in trials)
    assert {t.pk: (t.response_key or None) for t in trials} == pressed
    for trial in trials:
        assert trial.is_correct == (trial.response_key == trial.correct_key)
        assert trial.timed_out == (pressed[trial.pk] is None)
        if pressed[trial.pk] is not None:
            assert 0 < trial.rt_ms < experiment.stimulus_ms + experiment.mask_ms + experiment.response_window_ms + 1000
        assert trial.requested_frames >= 1 and trial.shown_frames >= 1 and trial.shown_stimulus_ms > 0
        assert 1 < trial.frame_interval_ms < 100
        assert set(trial.timing) >= {"fixation_shown_ms", "mask_shown_ms", "stimulus_shown_ms_raf", "page_hidden"}

    interval = statistics.median(t.frame_interval_ms for t in trials)
    requested = Counter(t.requested_frames for t in trials)
    shown = Counter(t.shown_frames for t in trials)
    shown_ms = sorted(t.shown_stimulus_ms for t in trials)
    exact = sum(t.shown_frames == t.requested_frames for t in trials)
    within_a_frame = sum(abs(t.shown_stimulus_ms - t.requested_frames * interval) <= interval / 2 for t in trials)
    print(
        f"\nstimulus timing in headless Chromium: {experiment.stimulus_ms} ms requested = "
        f"{dict(requested)} frames at a measured {interval:.2f} ms per frame; shown frames {dict(shown)}; "
        f"shown {shown_ms[0]:.1f} / {statistics.median(shown_ms):.1f} / {shown_ms[-1]:.1f} ms (min / median / max); "
        f"{exact}/{len(trials)} trials shown for exactly the requested frames, "
        f"{within_a_frame}/{len(trials)} within half a frame of the requested duration"
    )
    print(
        "per trial (requested frames, shown frames, shown ms):",
        [(t.requested_frames, t.shown_frames, t.shown_stimulus_ms) for t in trials],
    )
    # A loaded machine can drop a frame now and then: the stimulus must still last the requested
    # frames in most trials, and never more animation frames than requested (the sequencer ends a
    # phase at its frame count, or earlier when a dropped frame already used its time).
    assert exact >= len(trials) - 2
    assert all(t.shown_frames <= t.requested_frames for t in trials)


def test_a_prolific_id_resumes_in_another_browser_only_with_the_code_shown_in_the_first(page, browser, live_server):
    from tests.browser.conftest import VIEWPORT

    categories = (
        CategoryFactory(name="red ring", wnid="s0000000"),
        CategoryFactory(name="blue saltire", wnid="s0000002"),
    )
    ready(make_experiment(categories, n_per_category=4, levels=(20, 100), slug="resume"))
    url = "/experiments/resume/?PROLIFIC_PID=5f1e2d3c4b5a&STUDY_ID=s1"
    page.goto(url)
    page.locator("#consent-accept").click()
    wait_screen(page, "instructions")
    expect(page.locator("#resume-line")).to_be_visible()
    code = page.locator("#resume-code").text_content()
    assert code and len(code) == 11

    other = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, bypass_csp=True)
    try:
        elsewhere = other.new_page()
        errors = []
        elsewhere.on("pageerror", lambda error: errors.append(str(error)))
        elsewhere.goto(url)
        elsewhere.locator("#consent-accept").click()
        wait_screen(elsewhere, "resume")  # the crowd id alone takes over nothing
        elsewhere.locator("#resume-input").fill("AAAAA-AAAAA")
        elsewhere.locator("#resume-submit").click()
        expect(elsewhere.locator("#resume-text")).to_contain_text("does not match")
        assert elsewhere.evaluate("document.body.dataset.screen") == "resume"
        elsewhere.locator("#resume-input").fill(code.lower().replace("-", " "))
        elsewhere.locator("#resume-submit").click()
        wait_screen(elsewhere, "instructions")
        expect(elsewhere.locator("#instructions-text")).to_contain_text("Welcome back")
        expect(elsewhere.locator("#resume-code")).to_have_text(code)
        assert errors == []
    finally:
        other.close()
    assert Participant.objects.count() == 1
