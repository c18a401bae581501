"""The promotion rule relative to chance (game/promotion_rule.py, docs/SCIENCE.md section 1): one rule
from 2 to 1,000 categories and any top-k, each target missed only beyond its Wilson interval."""

import pytest

from game.promotion_rule import careful_target, careless_limit, targets_missed, zero_click_limit
from game.validity import WinRate
from game.win_rule import chance_rate


def report(n_outputs, top_k, zero, careless, careful, n=400):
    """A stored report with these win counts out of n rounds each, intervals as the report computes them."""
    rates = {}
    for name, wins in (("zero_click_win", zero), ("careless_win", careless), ("careful_win", careful)):
        rate = WinRate(wins, n)
        rates |= {name: rate.rate, f"{name}_ci95": list(rate.ci95), f"{name}s": wins}
    return {**rates, "chance": chance_rate(n_outputs, top_k), "n_rounds": n, "top_k": top_k, "n_outputs": n_outputs}


def test_the_bounds_are_twice_chance_when_chance_is_small_and_a_tenth_of_the_way_to_certainty_when_large():
    assert zero_click_limit(0.005) == pytest.approx(0.01)  # top 5 of 1,000
    assert zero_click_limit(1 / 64) == pytest.approx(2 / 64)
    assert zero_click_limit(0.5) == pytest.approx(0.55)  # two categories: 2x chance would be 100%
    assert careful_target(0.005) == 0.85 and careful_target(0.6) == pytest.approx(0.88)
    assert careless_limit(0.5, 0.95) == pytest.approx(0.65) and careless_limit(0.01, 0.91) == pytest.approx(0.31)


def test_a_thousand_category_partner_that_wins_19_percent_unpainted_is_refused():
    """38x chance: the old absolute rule (at most 20% zero-click) let it through."""
    missed = targets_missed(report(1000, 5, zero=76, careless=40, careful=380))
    assert len(missed) == 1 and missed[0].startswith("zero-click win 19.0%") and "at most 1.0%" in missed[0]
    assert targets_missed(report(1000, 5, zero=3, careless=20, careful=380)) == []


def test_two_categories_a_partner_at_chance_unpainted_plays_and_one_that_reads_the_noise_does_not():
    """Chance is 50%: the old rule (20% absolute) refused every two-category partner."""
    assert targets_missed(report(2, 1, zero=204, careless=230, careful=390)) == []
    missed = targets_missed(report(2, 1, zero=360, careless=370, careful=390))
    assert any(line.startswith("zero-click win 90.0%") for line in missed)
    assert any(line.startswith("careless win") for line in missed)  # 92.5% > 50% + (97.5% - 50%) / 3


def test_careless_paint_may_earn_at_most_a_third_of_what_care_earns_above_chance():
    assert targets_missed(report(64, 1, zero=4, careless=100, careful=380)) == []  # 25% vs a 32.7% limit
    missed = targets_missed(report(64, 1, zero=4, careless=180, careful=380))  # 45%
    assert len(missed) == 1 and missed[0].startswith("careless win 45.0%")


def test_a_careful_player_must_be_able_to_win_and_no_round_at_all_is_a_miss():
    missed = targets_missed(report(10, 1, zero=40, careless=40, careful=240))  # 60%
    assert len(missed) == 1 and missed[0].startswith("careful win 60.0%") and "at least 85.0%" in missed[0]
    assert "no round" in targets_missed(report(10, 1, 0, 0, 0, n=0))[0] and targets_missed(None)


def test_a_partner_exactly_at_a_bound_is_not_refused_by_sampling_noise():
    """2x chance of 64 categories is 3.1%; 14/400 (3.5%) has an interval that reaches below it."""
    assert targets_missed(report(64, 1, zero=14, careless=30, careful=380)) == []
    assert targets_missed(report(64, 1, zero=30, careless=30, careful=380))  # 7.5%: the interval is above
