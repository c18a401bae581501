import pytest

from game.click_rules import ClickRejected, validate_clicks

LIMITS = dict(width=256, height=256, time_limit_ms=7000, last_t_ms=None, stored_count=0, max_clicks=10, max_per_post=5)


def test_valid_clicks_come_back_as_ints():
    assert validate_clicks([[0, 0, 0], [255, 255, 7000]], **LIMITS) == [[0, 0, 0], [255, 255, 7000]]


@pytest.mark.parametrize(
    "clicks, code",
    [
        ([[256, 0, 0]], "outside_image"),
        ([[0, -1, 0]], "outside_image"),
        ([[1.5, 0, 0]], "invalid_coordinate"),
        ([[float("nan"), 0, 0]], "invalid_coordinate"),
        ([[float("inf"), 0, 0]], "invalid_coordinate"),
        ([["1", 0, 0]], "invalid_coordinate"),
        ([[True, 0, 0]], "invalid_coordinate"),
        ([[0, 0, 7001]], "invalid_time"),
        ([[0, 0, -1]], "invalid_time"),
        ([[0, 0, 100], [0, 0, 99]], "time_goes_backwards"),
        ([[0, 0]], "invalid"),
        ([], "invalid"),
        ("not a list", "invalid"),
        ([[0, 0, 0]] * 6, "too_many_clicks"),
    ],
)
def test_bad_clicks_are_rejected_with_a_code(clicks, code):
    with pytest.raises(ClickRejected) as error:
        validate_clicks(clicks, **LIMITS)
    assert error.value.code == code


def test_time_may_not_go_back_before_the_stored_clicks():
    with pytest.raises(ClickRejected, match="goes back"):
        validate_clicks([[0, 0, 50]], **{**LIMITS, "last_t_ms": 100})


def test_a_round_holds_at_most_max_clicks():
    with pytest.raises(ClickRejected, match="at most 10"):
        validate_clicks([[0, 0, 0]] * 3, **{**LIMITS, "stored_count": 8})
