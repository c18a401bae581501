"""simulate_participants: simulated people with known accuracies, through the services or over HTTP."""

import pytest
from django.core.management import CommandError, call_command

from psychophysics.models import Participant
from psychophysics.selectors import experiment_results
from psychophysics.simulated_participants import true_accuracy

from .conftest import make_experiment, ready


@pytest.mark.django_db
def test_simulated_participants_complete_the_experiment_and_the_analysis_recovers_their_accuracies(
    two_categories, capsys
):
    experiment = ready(make_experiment(two_categories, n_per_category=8, levels=(3, 30, 100), slug="sim"))
    call_command("simulate_participants", "--experiment", "sim", "--n", "24", "--seed", "1", "--prolific")
    assert "24 simulated participants answered 432 trials" in capsys.readouterr().out  # (16 + 2) x 24
    assert Participant.objects.filter(completed_at__isnull=False).count() == 24
    assert Participant.objects.exclude(external_id_hash="").count() == 24
    assert sorted(set(Participant.objects.values_list("group", flat=True))) == list(range(6))
    results = experiment_results(experiment, n_boot=1000)
    scales = {"clickme": 6.0, "saliency": 25.0}
    misses = 0
    for source, rows in results["humans"]["curves"].items():
        for row in rows:
            assert row["n"] == 64  # 24 participants x 16 trials over 6 conditions
            truth = true_accuracy(source, row["level"], scales)
            misses += not row["ci95"][0] <= truth <= row["ci95"][1]
    # 6 intervals at 95%: each participant's trial plan is seeded by their random public id, so the
    # count of misses is Binomial(6, 0.05) run to run; P(> 2) = 0.2% (P(> 1) = 3.3% failed CI once)
    assert misses <= 2
    assert results["humans"]["difference"]["mean_over_levels"]["difference"] > 0


@pytest.mark.django_db
def test_bad_arguments_are_refused(two_categories):
    ready(make_experiment(two_categories, slug="sim"))
    with pytest.raises(CommandError, match="--n"):
        call_command("simulate_participants", "--experiment", "sim", "--n", "0")
    with pytest.raises(CommandError, match="lapse"):
        call_command("simulate_participants", "--experiment", "sim", "--n", "1", "--lapse", "0.7")
    with pytest.raises(CommandError, match="no open or closed experiment"):
        call_command("simulate_participants", "--experiment", "nope", "--n", "1")


@pytest.mark.django_db(transaction=True)
def test_simulated_participants_play_over_http_against_a_running_server(two_categories, live_server, capsys):
    ready(make_experiment(two_categories, slug="http"))
    call_command("simulate_participants", "--experiment", "http", "--n", "2", "--base-url", live_server.url)
    assert "2 simulated participants answered 20 trials" in capsys.readouterr().out
    assert (
        Participant.objects.filter(completed_at__isnull=False, user_agent="clickme-simulated-participant").count() == 2
    )
