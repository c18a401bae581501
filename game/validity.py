"""Game validity (docs/SCIENCE.md section 1): can a round against this partner be lost, and won?

Numpy and scipy only, no Django: the partner is any `predict(views) -> probabilities` callable
((N, crop, crop, 3) float32 views in [0, 1] -> (N, n_outputs)). Simulated rounds use the game's own
rules: the partner sees game.reveal.partner_view of the clicks so far; the brush lays a bubble
centre every 50 ms, each at most 7 px from the last, towards the pointer (the port of
frontend/static/frontend/stroke.js below); the page posts every 10 clicks (500 ms of painting) and
what is left when painting stops, and the partner is asked at every post; a round is won when the
category is in the partner's top k (game.win_rule), and ends at the win, when the player stops, or at
the time limit.

Three players per image:
- zero clicks: the partner's answer to the view with nothing revealed;
- careless: `careless_clicks` (default 30) clicks anywhere, one stroke wandering over the image;
- careful: paints the diagnostic region (the image's mask where known, else the object's centre
  region) with human-like aim noise and the odd stray glance elsewhere, until a win or time out.
Win rates come with Wilson 95% intervals, beside the win rule's chance rate.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .reveal import centre_crop, noise_background, partner_view
from .win_rule import chance_rate, is_win, win_top_k


@dataclass(frozen=True)
class GameRules:
    """The numbers of docs/SCIENCE.md section 1 that a simulated round needs (CLICKME settings' names)."""

    time_limit_ms: int = 7000
    brush_interval_ms: int = 50
    brush_max_step_px: int = 7
    post_every_clicks: int = 10
    max_clicks: int = 200
    partner_crop_px: int = 224
    partner_bubble_px: int = 21
    noise_std: float = 0.4

    @classmethod
    def from_settings(cls, clickme):
        """From a CLICKME settings dict (missing keys keep their defaults)."""
        names = {
            "time_limit_ms": "TIME_LIMIT_MS",
            "brush_interval_ms": "BRUSH_INTERVAL_MS",
            "brush_max_step_px": "BRUSH_MAX_STEP_PX",
            "post_every_clicks": "POST_EVERY_CLICKS",
            "max_clicks": "MAX_CLICKS",
            "partner_crop_px": "PARTNER_CROP_PX",
            "partner_bubble_px": "PARTNER_BUBBLE_PX",
            "noise_std": "NOISE_STD",
        }
        return cls(**{field_: clickme[key] for field_, key in names.items() if key in clickme})


@dataclass(frozen=True)
class Painter:
    """How a simulated player aims: Gaussian aim noise around points of its region, a share of stray
    glances anywhere (reached, and left, by lifting the pointer), and the time before the first press."""

    aim_noise_px: float = 5.0
    stray_fraction: float = 0.05
    start_ms: int = 400


CAREFUL = Painter()
CARELESS = Painter(aim_noise_px=0.0, stray_fraction=0.0, start_ms=400)


@dataclass(frozen=True)
class RoundImage:
    """An image as served (H, W, 3 float32 in [0, 1]), the partner's output indices of its category,
    and its diagnostic mask (H, W bool) where one is known."""

    image: np.ndarray
    targets: tuple
    mask: np.ndarray | None = None
    name: str = ""


@dataclass(frozen=True)
class WinRate:
    wins: int
    n: int

    @property
    def rate(self):
        return self.wins / self.n if self.n else float("nan")

    @property
    def ci95(self):
        """Wilson score 95% interval."""
        if not self.n:
            return (float("nan"), float("nan"))
        interval = stats.binomtest(self.wins, self.n).proportion_ci(confidence_level=0.95, method="wilson")
        return (float(interval.low), float(interval.high))


@dataclass(frozen=True)
class ValidityReport:
    zero_click: WinRate
    careless: WinRate
    careful: WinRate
    chance: float
    top_k: int
    n_outputs: int
    n_images: int
    rounds_per_image: int
    careless_clicks: int
    careful_median_clicks: float | None = None
    careful_median_ms: float | None = None
    per_image: list = field(default_factory=list)

    def as_dict(self):
        """Flat JSON: each win rate beside its Wilson 95% interval ("<name>_ci95") and its wins."""
        rates: dict[str, Any] = {}
        for name, rate in (
            ("zero_click_win", self.zero_click),
            ("careless_win", self.careless),
            ("careful_win", self.careful),
        ):
            low, high = rate.ci95
            rates |= (
                {name: round(rate.rate, 4), f"{name}_ci95": [round(low, 4), round(high, 4)], f"{name}s": rate.wins}
                if rate.n
                else {name: None, f"{name}_ci95": None, f"{name}s": 0}  # no image: nothing measured
            )
        return {
            **rates,
            "n_rounds": self.careful.n,
            "chance": round(self.chance, 6),
            "top_k": self.top_k,
            "n_outputs": self.n_outputs,
            "n_images": self.n_images,
            "rounds_per_image": self.rounds_per_image,
            "careless_clicks": self.careless_clicks,
            "careful_median_clicks": self.careful_median_clicks,
            "careful_median_ms": self.careful_median_ms,
        }

    def lines(self):
        """The report as text, one figure a line."""

        def rate_line(label, rate):
            low, high = rate.ci95
            return f"{label:<28} {100 * rate.rate:6.1f}%  [{100 * low:5.1f}, {100 * high:5.1f}]  ({rate.wins}/{rate.n})"

        median = (
            f"{self.careful_median_clicks:g} clicks, {self.careful_median_ms:g} ms"
            if self.careful_median_clicks is not None
            else "no win"
        )
        return [
            f"images {self.n_images} x {self.rounds_per_image} rounds; win rule top-{self.top_k} of {self.n_outputs}",
            rate_line("zero clicks", self.zero_click),
            rate_line(f"careless ({self.careless_clicks} clicks anywhere)", self.careless),
            rate_line("careful (diagnostic region)", self.careful),
            f"{'chance':<28} {100 * self.chance:6.2f}%",
            f"{'careful: median to a win':<28} {median}",
        ]


# ---- the brush (frontend/static/frontend/stroke.js)


def step_towards(x, y, tx, ty, max_step_px):
    """One brush step from (x, y) towards (tx, ty), integer pixels, at most max_step_px long."""
    dx, dy = tx - x, ty - y
    distance = math.hypot(dx, dy)
    if distance <= max_step_px:
        return tx, ty
    fx, fy = dx * max_step_px / distance, dy * max_step_px / distance
    best, best_error = (math.trunc(fx), math.trunc(fy)), math.inf
    for mx in (math.floor(fx), math.ceil(fx)):
        for my in (math.floor(fy), math.ceil(fy)):
            error = math.hypot(mx - fx, my - fy)
            if math.hypot(mx, my) <= max_step_px and error < best_error:
                best, best_error = (mx, my), error
    return x + best[0], y + best[1]


def brush_clicks(targets, lifted, n_clicks, rules, width, height, start_ms):
    """(n, 3) int [x, y, t_ms]: the bubble centres the page makes while the pointer visits `targets`
    in turn; the pointer moves on when the brush reaches its target, and jumps (a new press, which
    keeps the brush's cadence) where `lifted` says so. Stops at n_clicks, max_clicks or the time limit."""
    n_clicks = min(n_clicks, rules.max_clicks)
    points = np.column_stack(
        [np.clip(np.rint(targets[:, 0]), 0, width - 1), np.clip(np.rint(targets[:, 1]), 0, height - 1)]
    ).astype(int)
    clicks: list[tuple[int, int, int]] = []
    x, y = points[0]
    t = int(start_ms)
    index = 1
    while len(clicks) < n_clicks and t <= rules.time_limit_ms:
        clicks.append((int(x), int(y), t))
        t += rules.brush_interval_ms
        if index >= len(points):
            continue  # the pointer rests on its last target
        tx, ty = points[index]
        if lifted[index]:
            x, y = tx, ty
        else:
            x, y = step_towards(x, y, tx, ty, rules.brush_max_step_px)
        if (x, y) == (tx, ty):
            index += 1
    return np.asarray(clicks, dtype=np.int64).reshape(-1, 3)


def diagnostic_region(shape, mask=None, centre_fraction=0.5):
    """Where a careful player paints: the mask where one is known (and not empty), else the object's
    centre region, an ellipse over the central `centre_fraction` of each side."""
    height, width = shape[:2]
    if mask is not None and np.any(mask):
        return np.asarray(mask, dtype=bool)
    yy, xx = np.mgrid[0:height, 0:width]
    ry, rx = centre_fraction * height / 2, centre_fraction * width / 2
    return ((yy - (height - 1) / 2) / ry) ** 2 + ((xx - (width - 1) / 2) / rx) ** 2 <= 1.0


def careful_clicks(region, rng, rules, painter=CAREFUL):
    """A careful player's clicks over the whole time limit (the round stops them at a win)."""
    height, width = region.shape
    n = rules.time_limit_ms // rules.brush_interval_ms + 1
    ys, xs = np.nonzero(region)
    pick = rng.integers(0, len(xs), n)
    targets = np.column_stack([xs[pick], ys[pick]]).astype(float) + rng.normal(0, painter.aim_noise_px, (n, 2))
    stray = rng.random(n) < painter.stray_fraction
    stray[0] = False
    targets[stray] = np.column_stack([rng.uniform(0, width, stray.sum()), rng.uniform(0, height, stray.sum())])
    lifted = stray | np.roll(stray, 1)
    return brush_clicks(targets, lifted, n, rules, width, height, painter.start_ms)


def careless_clicks(shape, rng, rules, n_clicks, painter=CARELESS):
    """A careless player's n_clicks: one stroke wandering towards points anywhere in the image."""
    height, width = shape[:2]
    targets = np.column_stack([rng.uniform(0, width, n_clicks + 1), rng.uniform(0, height, n_clicks + 1)])
    return brush_clicks(targets, np.zeros(n_clicks + 1, bool), n_clicks, rules, width, height, painter.start_ms)


def post_points(n_clicks, post_every_clicks):
    """How many clicks the partner has seen at each post: every post_every_clicks and the rest at the end."""
    points = list(range(post_every_clicks, n_clicks + 1, post_every_clicks))
    if n_clicks and (not points or points[-1] != n_clicks):
        points.append(n_clicks)
    return points


@dataclass
class _Round:
    image: RoundImage
    clicks: np.ndarray
    seed: int
    posts: list
    background: np.ndarray | None = None
    won_at: int | None = None  # the number of clicks seen at the winning post


def play_rounds(predict, rounds, rules, top_k, batch_size=32):
    """Play simulated rounds post by post, batching the partner's views across rounds; sets won_at."""
    for round_ in rounds:
        crop = centre_crop(round_.image.image, rules.partner_crop_px)
        round_.background = noise_background(crop, round_.seed, rules.noise_std)
    for post in range(max((len(r.posts) for r in rounds), default=0)):
        playing = [r for r in rounds if r.won_at is None and post < len(r.posts)]
        for begin in range(0, len(playing), batch_size):
            batch = playing[begin : begin + batch_size]
            views = np.stack(
                [
                    partner_view(
                        r.image.image,
                        r.clicks[: r.posts[post], :2],
                        seed=r.seed,
                        crop_px=rules.partner_crop_px,
                        bubble_px=rules.partner_bubble_px,
                        noise_std=rules.noise_std,
                        background=r.background,
                    )
                    for r in batch
                ]
            ).astype(np.float32, copy=False)
            probabilities = np.asarray(predict(views))
            for round_, p in zip(batch, probabilities, strict=True):
                ranked = np.argsort(-p, kind="stable")[:top_k]
                if is_win(ranked, round_.image.targets, top_k):
                    round_.won_at = round_.posts[post]
    for round_ in rounds:
        round_.background = None
    return rounds


def validity_report(
    predict,
    images,
    *,
    n_outputs,
    top_k=None,
    rules=GameRules(),
    careless_clicks_n=30,
    rounds_per_image=1,
    seed=0,
    batch_size=32,
    careful_painter=CAREFUL,
    careless_painter=CARELESS,
):
    """The validity report of a partner on `images` (RoundImage). `top_k` None: the win rule's default."""
    top_k = top_k or win_top_k(n_outputs)
    root = np.random.SeedSequence(seed)
    zero, careless, careful = [], [], []
    for item in images:
        region = diagnostic_region(item.image.shape, item.mask)
        for _repeat in range(rounds_per_image):
            child = root.spawn(1)[0]
            seeds = child.generate_state(3)
            rng = np.random.default_rng(child)
            empty = np.zeros((0, 3), dtype=np.int64)
            zero.append(_Round(item, empty, int(seeds[0]), [0]))
            strokes = careless_clicks(item.image.shape, rng, rules, careless_clicks_n, careless_painter)
            careless.append(_Round(item, strokes, int(seeds[1]), post_points(len(strokes), rules.post_every_clicks)))
            painted = careful_clicks(region, rng, rules, careful_painter)
            careful.append(_Round(item, painted, int(seeds[2]), post_points(len(painted), rules.post_every_clicks)))
    play_rounds(predict, zero + careless + careful, rules, top_k, batch_size)

    def rate(rounds):
        return WinRate(sum(r.won_at is not None for r in rounds), len(rounds))

    won_at = [r.won_at for r in careful if r.won_at is not None]
    won_ms = [r.clicks[r.won_at - 1][2] for r in careful if r.won_at is not None]
    median_clicks = float(np.median(won_at)) if won_at else None
    median_ms = float(np.median(won_ms)) if won_ms else None
    per_image = [
        {
            "name": z.image.name,
            "zero_click": z.won_at is not None,
            "careless": c.won_at is not None,
            "careful_clicks": f.won_at,
        }
        for z, c, f in zip(zero, careless, careful, strict=True)
    ]
    return ValidityReport(
        zero_click=rate(zero),
        careless=rate(careless),
        careful=rate(careful),
        chance=chance_rate(n_outputs, top_k),
        top_k=top_k,
        n_outputs=n_outputs,
        n_images=len(images),
        rounds_per_image=rounds_per_image,
        careless_clicks=careless_clicks_n,
        careful_median_clicks=median_clicks,
        careful_median_ms=median_ms,
        per_image=per_image,
    )
