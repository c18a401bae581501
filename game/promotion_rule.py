"""The game's targets and the promotion rule (docs/SCIENCE.md section 1), relative to the win rule's
chance so that one rule holds from 2 to 1,000+ categories and any top-k. Pure Python, no Django.

With c = k / n the chance of a win by guessing (game.win_rule.chance_rate), a partner fits the game
when, on the images it is served:
- zero clicks win at most c + min(c, 0.1 (1 - c)): twice chance where chance is small (the original
  target), and never more than a tenth of the way from chance to certainty where it is large (with 2
  categories, 2x chance would be 100% and forbid nothing);
- careful paint wins at least max(0.85, c + 0.7 (1 - c)): a careful player can win, and by far more
  than guessing where guessing alone wins often;
- careless paint wins at most c + (careful - c) / 3: painting anywhere earns at most a third of what
  care earns above chance.
A target counts as missed only when the whole Wilson 95% interval of the measured rate lies on its
wrong side: a partner exactly at a target would otherwise be refused now and then by the sampling
noise of a few hundred simulated rounds. No round at all is a miss.
"""

from dataclasses import dataclass

MAX_ZERO_CLICK_SKILL = 0.1  # of the way from chance to certainty
MIN_CAREFUL_WIN = 0.85
MIN_CAREFUL_SKILL = 0.7
CARELESS_SHARE_OF_CAREFUL = 1 / 3


def zero_click_limit(chance):
    return chance + min(chance, MAX_ZERO_CLICK_SKILL * (1 - chance))


def careful_target(chance):
    return max(MIN_CAREFUL_WIN, chance + MIN_CAREFUL_SKILL * (1 - chance))


def careless_limit(chance, careful_win):
    return chance + max(0.0, careful_win - chance) * CARELESS_SHARE_OF_CAREFUL


@dataclass(frozen=True)
class Target:
    """One target of the rule: the measured rate, its Wilson 95% interval, the bound, and which side
    of it the rate must be on ("max": at most the bound, "min": at least)."""

    name: str
    rate: float
    ci95: tuple
    bound: float
    side: str
    reason: str

    @property
    def met(self):
        return self.rate <= self.bound if self.side == "max" else self.rate >= self.bound

    @property
    def missed(self):
        """Missed beyond its sampling noise: the whole interval on the wrong side of the bound."""
        low, high = self.ci95
        return low > self.bound if self.side == "max" else high < self.bound

    def line(self):
        low, high = self.ci95
        relation = "at most" if self.side == "max" else "at least"
        return (
            f"{self.name} {self.rate:.1%} (95% CI {low:.1%}-{high:.1%}) must be {relation} {self.bound:.1%}: "
            f"{self.reason}"
        )


def targets(validity):
    """The three targets of a stored validity report (game.validity.ValidityReport.as_dict())."""
    chance = validity["chance"]
    careful = validity["careful_win"]
    return [
        Target(
            "zero-click win",
            validity["zero_click_win"],
            tuple(validity["zero_click_win_ci95"]),
            zero_click_limit(chance),
            "max",
            "the game could be won without paint",
        ),
        Target(
            "careful win",
            careful,
            tuple(validity["careful_win_ci95"]),
            careful_target(chance),
            "min",
            "a careful player could not win",
        ),
        Target(
            "careless win",
            validity["careless_win"],
            tuple(validity["careless_win_ci95"]),
            careless_limit(chance, careful),
            "max",
            "painting anywhere pays",
        ),
    ]


def targets_missed(validity):
    """One line per target the report misses beyond its sampling noise; empty when the partner may play."""
    if not validity or not validity.get("n_rounds"):
        return ["no round could be played: no servable image is of a category the partner knows"]
    return [target.line() for target in targets(validity) if target.missed]
