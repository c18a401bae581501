"""Per-image playability's pure core (docs/SCIENCE.md section 1): each image screened against a partner
by simulated rounds with game/validity.py's players, brush and posts. Numpy only, no Django."""

from dataclasses import dataclass

import numpy as np

from .promotion_rule import zero_click_limit
from .reveal import centre_crop
from .validity import (
    CARELESS,
    GameRules,
    _Round,
    brush_clicks,
    careful_clicks,
    diagnostic_region,
    play_rounds,
    post_points,
)
from .win_rule import chance_rate, is_win


def edge_clicks(shape, rng, rules, n_clicks, where, band_fraction=0.2, painter=CARELESS):
    """A careless player's n_clicks away from the image's centre: one stroke inside one randomly chosen
    corner square (`where` "corner"), or walking round the image inside a band along its borders
    ("border"); the square and the band are band_fraction of a side wide. Both regions are convex
    or walked in short steps, so the brush stays inside them: the strokes of players who paint
    wherever they happen to start, never the object in the middle."""
    height, width = shape[:2]
    band_y, band_x = max(1.0, band_fraction * height), max(1.0, band_fraction * width)
    n = n_clicks + 1
    if where == "corner":
        right, bottom = rng.integers(0, 2, 2)
        xs = rng.uniform(0, band_x, n) + (width - band_x) * right
        ys = rng.uniform(0, band_y, n) + (height - band_y) * bottom
    elif where == "border":
        perimeter = 2.0 * (width + height)
        along = (rng.uniform(0, perimeter) + np.cumsum(rng.uniform(10, 30, n))) % perimeter
        inward = rng.uniform(0, 1, n)
        xs, ys = np.empty(n), np.empty(n)
        top, right = along < width, (along >= width) & (along < width + height)
        bottom = (along >= width + height) & (along < 2 * width + height)
        left = along >= 2 * width + height
        xs[top], ys[top] = along[top], inward[top] * band_y
        xs[right], ys[right] = width - 1 - inward[right] * band_x, along[right] - width
        xs[bottom], ys[bottom] = 2 * width + height - along[bottom], height - 1 - inward[bottom] * band_y
        xs[left], ys[left] = inward[left] * band_x, perimeter - along[left]
    else:
        raise ValueError(f"where must be 'corner' or 'border', not {where!r}")
    targets = np.column_stack([xs, ys])
    return brush_clicks(targets, np.zeros(n, bool), n_clicks, rules, width, height, painter.start_ms)


class Playability:
    """An image's verdict against a partner, in the order the screening checks them."""

    PLAYABLE = "playable"
    NOT_RECOGNISED = "not_recognised"  # the partner misses it in full view: no paint could win it
    WON_UNPAINTED = "won_unpainted"  # recognised through the noise with nothing revealed
    WON_CARELESSLY = "won_carelessly"  # recognised from strokes in the corners or along the borders
    CAREFUL_LOST = "careful_lost"  # careful paint of the diagnostic region did not win in time


@dataclass(frozen=True)
class ScreeningPlan:
    """How many simulated rounds screen each image (each round its own noise seed and strokes). The
    careless players paint for the whole round (`careless_clicks` None: as many clicks as the time
    limit allows), as a player who keeps painting a corner would: a short stroke misses the late wins
    that still earn a corner player points (bench/fairness.py)."""

    zero_click_rounds: int = 3
    corner_rounds: int = 1
    border_rounds: int = 1
    careful_rounds: int = 2
    careless_clicks: int | None = None


@dataclass(frozen=True)
class ImageScreening:
    """One image's screening: what each simulated player won, and the verdict."""

    name: str
    full_view_win: bool
    zero_click_wins: int
    zero_click_rounds: int
    careless_wins: int
    careless_rounds: int
    careful_wins: int
    careful_rounds: int
    careful_clicks: int | None  # clicks seen at the first careful win, None without one
    chance: float = 0.0  # the win rule's: k of the partner's outputs

    @property
    def verdict(self):
        """Zero-click and careless wins may not exceed the zero-click bound of the promotion rule
        (game/promotion_rule.py): with few categories some are chance (2 categories: 1 of 3 zero-click
        rounds is a coin's luck, 2 of 3 is not), with many any one win is the image read without paint."""
        bound = zero_click_limit(self.chance)
        if not self.full_view_win:
            return Playability.NOT_RECOGNISED
        if self.zero_click_wins > bound * self.zero_click_rounds:
            return Playability.WON_UNPAINTED
        if self.careless_wins > bound * self.careless_rounds:
            return Playability.WON_CARELESSLY
        if self.careful_wins < 1 or self.careful_wins * 2 < self.careful_rounds:
            return Playability.CAREFUL_LOST
        return Playability.PLAYABLE


def screen_images(predict, images, *, top_k, rules=GameRules(), plan=ScreeningPlan(), seed=0, batch_size=32):
    """Screen each image (RoundImage) against the partner: full view, zero clicks, careless strokes in
    corners and along borders, careful paint of the diagnostic region; the partner's forwards are
    batched across images and rounds. Returns one ImageScreening per image, in order."""
    if not images:
        return []
    crops = [centre_crop(item.image, rules.partner_crop_px) for item in images]
    full_view_wins = []
    n_outputs = 0
    for begin in range(0, len(crops), batch_size):
        views = np.stack(crops[begin : begin + batch_size]).astype(np.float32, copy=False)
        probabilities = np.asarray(predict(views))
        n_outputs = probabilities.shape[1]
        for item, p in zip(images[begin : begin + batch_size], probabilities, strict=True):
            full_view_wins.append(is_win(np.argsort(-p, kind="stable")[:top_k], item.targets, top_k))
    root = np.random.SeedSequence(seed)
    careless_n = plan.careless_clicks or rules.time_limit_ms // rules.brush_interval_ms + 1
    kinds: list[list[tuple[str, _Round]]] = []
    for item in images:
        child = root.spawn(1)[0]
        rng = np.random.default_rng(child)
        n_rounds = plan.zero_click_rounds + plan.corner_rounds + plan.border_rounds + plan.careful_rounds
        seeds = iter(int(s) for s in child.generate_state(n_rounds))
        region = diagnostic_region(item.image.shape, item.mask)
        empty = np.zeros((0, 3), dtype=np.int64)
        rounds = [("zero", _Round(item, empty, next(seeds), [0])) for _ in range(plan.zero_click_rounds)]
        for where, count in (("corner", plan.corner_rounds), ("border", plan.border_rounds)):
            for _ in range(count):
                strokes = edge_clicks(item.image.shape, rng, rules, careless_n, where)
                posts = post_points(len(strokes), rules.post_every_clicks)
                rounds.append(("careless", _Round(item, strokes, next(seeds), posts)))
        for _ in range(plan.careful_rounds):
            painted = careful_clicks(region, rng, rules)
            posts = post_points(len(painted), rules.post_every_clicks)
            rounds.append(("careful", _Round(item, painted, next(seeds), posts)))
        kinds.append(rounds)
    play_rounds(predict, [round_ for rounds in kinds for _kind, round_ in rounds], rules, top_k, batch_size)
    results = []
    for item, full_view_win, rounds in zip(images, full_view_wins, kinds, strict=True):

        def count(kind, rounds=rounds):
            played = [r for k, r in rounds if k == kind]
            return sum(r.won_at is not None for r in played), len(played)

        careful_won = [r.won_at for k, r in rounds if k == "careful" and r.won_at is not None]
        (zero_wins, zero_n), (careless_wins, careless_n), (careful_wins, careful_n) = (
            count("zero"),
            count("careless"),
            count("careful"),
        )
        results.append(
            ImageScreening(
                name=item.name,
                full_view_win=bool(full_view_win),
                zero_click_wins=zero_wins,
                zero_click_rounds=zero_n,
                careless_wins=careless_wins,
                careless_rounds=careless_n,
                careful_wins=careful_wins,
                careful_rounds=careful_n,
                careful_clicks=min(careful_won) if careful_won else None,
                chance=chance_rate(n_outputs, top_k),
            )
        )
    return results
