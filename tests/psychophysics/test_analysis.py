"""The analysis (pure core) on simulated responses whose true accuracies are known."""

import numpy as np
import pytest

from psychophysics import analysis

SOURCES = ["clickme", "saliency"]
LEVELS = [1, 3, 5, 10, 20, 40, 60, 80, 100]


def true_accuracy(source, level):
    scale = 6.0 if source == "clickme" else 25.0
    return 0.5 + 0.45 * (1 - np.exp(-level / scale))


def simulate(n_participants, trials_per_cell, seed, participant_sd=0.0):
    """Every participant answers `trials_per_cell` trials per cell, correct with the true accuracy
    (shifted per participant on the logit scale by `participant_sd`)."""
    rng = np.random.default_rng(seed)
    sources, levels, correct, clusters = [], [], [], []
    for participant in range(n_participants):
        shift = rng.normal(0, participant_sd)
        for source in SOURCES:
            for level in LEVELS:
                p = true_accuracy(source, level)
                p = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift)))
                hits = rng.random(trials_per_cell) < p
                sources += [source] * trials_per_cell
                levels += [level] * trials_per_cell
                correct += hits.tolist()
                clusters += [participant] * trials_per_cell
    return dict(sources=sources, levels=levels, correct=correct, clusters=clusters)


def curves_of(data, n_boot=1000, seed=0):
    return analysis.accuracy_curves(**data, source_order=SOURCES, level_order=LEVELS, n_boot=n_boot, seed=seed)


def test_the_intervals_recover_the_true_accuracies():
    result = curves_of(simulate(40, 10, seed=1))
    misses = []
    for source in SOURCES:
        for row in result["curves"][source]:
            truth = true_accuracy(source, row["level"])
            low, high = row["ci95"]
            assert row["n"] == 400
            assert abs(row["accuracy"] - truth) < 0.08
            if not low <= truth <= high:
                misses.append((source, row["level"]))
    assert len(misses) <= 2, misses  # 18 cells at 95%: about one miss is expected


def test_the_intervals_cover_the_truth_about_95_percent_of_the_time():
    covered = total = 0
    for seed in range(60):
        result = curves_of(simulate(20, 4, seed=100 + seed, participant_sd=0.4), n_boot=500, seed=seed)
        for source in SOURCES:
            for row in result["curves"][source]:
                if row["level"] in (3, 10, 40):
                    low, high = row["ci95"]
                    covered += low <= true_accuracy(source, row["level"]) <= high
                    total += 1
    assert 0.89 <= covered / total <= 0.99, covered / total


def test_more_participants_give_narrower_intervals():
    few = curves_of(simulate(8, 5, seed=2))["curves"]["saliency"][3]
    many = curves_of(simulate(80, 5, seed=2))["curves"]["saliency"][3]
    assert (many["ci95"][1] - many["ci95"][0]) < 0.5 * (few["ci95"][1] - few["ci95"][0])


def test_the_difference_between_sources_is_paired_and_recovers_the_truth():
    result = curves_of(simulate(40, 10, seed=3))
    difference = result["difference"]
    assert difference["of"] == "clickme - saliency"
    for row in difference["per_level"]:
        truth = true_accuracy("clickme", row["level"]) - true_accuracy("saliency", row["level"])
        assert abs(row["difference"] - truth) < 0.1
    mean = difference["mean_over_levels"]
    truth = np.mean([true_accuracy("clickme", v) - true_accuracy("saliency", v) for v in LEVELS])
    assert mean["ci95"][0] <= truth <= mean["ci95"][1]
    assert mean["ci95"][0] > 0  # ClickMe is more diagnostic in this simulation, and the interval says so


def test_equal_sources_give_a_difference_interval_around_zero():
    rng = np.random.default_rng(4)
    n = 3000
    data = dict(
        sources=rng.choice(SOURCES, n).tolist(),
        levels=rng.choice(LEVELS, n).tolist(),
        correct=(rng.random(n) < 0.7).tolist(),
        clusters=rng.integers(0, 30, n).tolist(),
    )
    mean = curves_of(data)["difference"]["mean_over_levels"]
    assert mean["ci95"][0] < 0 < mean["ci95"][1]


def test_the_bootstrap_resamples_participants_not_trials():
    """Participants who differ a lot make trials within a participant alike: the cluster bootstrap
    must give a wider interval than treating the trials as independent would."""
    rng = np.random.default_rng(5)
    correct, clusters = [], []
    for participant in range(20):
        p = 0.95 if participant % 2 else 0.55
        correct += (rng.random(50) < p).tolist()
        clusters += [participant] * 50
    data = dict(sources=["clickme"] * 1000, levels=[10] * 1000, correct=correct, clusters=clusters)
    row = analysis.accuracy_curves(**data, source_order=["clickme"], level_order=[10], n_boot=2000)["curves"][
        "clickme"
    ][0]
    p = row["accuracy"]
    binomial_width = 2 * 1.96 * np.sqrt(p * (1 - p) / 1000)
    assert row["ci95"][1] - row["ci95"][0] > 1.5 * binomial_width


def test_cells_without_trials_and_unknown_conditions():
    data = dict(
        sources=["clickme", "clickme", "other"], levels=[10, 10, 10], correct=[True, False, True], clusters=[1, 2, 3]
    )
    result = analysis.accuracy_curves(**data, source_order=SOURCES, level_order=[10, 20], n_boot=200)
    assert result["n_trials"] == 2
    assert result["curves"]["clickme"][0]["accuracy"] == 0.5
    assert result["curves"]["clickme"][1] == {
        "level": 20,
        "n": 0,
        "n_correct": 0,
        "accuracy": None,
        "ci95": [None, None],
    }
    assert result["difference"]["per_level"][0]["difference"] is None
    empty = analysis.accuracy_curves(
        sources=[], levels=[], correct=[], clusters=[], source_order=SOURCES, level_order=LEVELS
    )
    assert empty["n_trials"] == 0 and empty["curves"]["saliency"][0]["accuracy"] is None


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one entry per trial"):
        analysis.accuracy_curves(
            sources=["clickme"], levels=[1, 2], correct=[True], clusters=[1], source_order=SOURCES, level_order=LEVELS
        )


def test_the_same_seed_gives_the_same_intervals():
    data = simulate(10, 3, seed=6)
    assert curves_of(data, seed=9) == curves_of(data, seed=9)


def test_a_cell_with_every_trial_right_gets_a_wilson_interval_not_a_point():
    data = dict(sources=["clickme"] * 72, levels=[80] * 72, correct=[True] * 72, clusters=list(range(36)) * 2)
    row = analysis.accuracy_curves(**data, source_order=["clickme"], level_order=[80], n_boot=500)["curves"]["clickme"][
        0
    ]
    assert row["accuracy"] == 1.0
    assert row["ci95"][1] == 1.0 and 0.94 < row["ci95"][0] < 0.96  # Wilson: [0.949, 1] for 72 of 72
    assert row["ci95"][0] < 0.96  # a true accuracy of 0.96 gives 72 of 72 five times in a hundred
    low, high = analysis.wilson_interval(0, 20)
    assert low == 0.0 and 0.16 < high < 0.17
