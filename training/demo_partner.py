"""Training the demo partner on the synthetic benchmark, on what players reveal. Pure torch/numpy.

Every training sample is a partner view, exactly as the game renders it (docs/SCIENCE.md section 1: the
224 px centre crop, revealed squares over darkened noise, resized to the network's input size):
1. pretraining on crops of partner views around the diagnostic part, revealed by a simulated careful
   player (the network is fully convolutional with global max pooling, so the weights that read a
   crop read a whole view);
2. fine-tuning on whole partner views with random reveals: careful players' first k clicks, careless
   players' clicks anywhere, no clicks at all, and now and then the whole crop; always the true label.
No flips: a mirrored badge is another category.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from game.promotion_rule import targets
from game.reveal import centre_crop, partner_view
from game.simulated_players import trajectory

from .nets.local_fcn import LocalFCN

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
ARCHITECTURE = "local_fcn"
POST_EVERY_CLICKS = 10  # the browser posts about every 10 clicks (docs/SCIENCE.md section 1)
MAX_CLICKS = 140  # 7 s at one click every 50 ms
# train_demo_partner's default: the steps of the shipped demo partner (training/artifacts/demo_partner.json)
DEFAULT_STEPS = 3000


@dataclass
class DemoConfig:
    input_size: int = 112
    width: int = 16
    crop_px: int = 224  # the partner's view: the centre crop of the 256 px image
    bubble_px: int = 21
    noise_std: float = 0.4
    pretrain_crop_px: int = 80  # crops of the 224 px view around the part (40 px at the input size)
    pretrain_batch: int = 32
    pretrain_clean_fraction: float = 1.0  # crops of the image itself (the part fully revealed)
    batch_size: int = 24
    lr: float = 4e-3
    weight_decay: float = 5e-4
    pretrain_fraction: float = 0.6  # of the time budget, at most
    pretrain_enough: float = 0.9  # pretraining stops early at this accuracy on the crops
    careful_fraction: float = 0.45
    careless_fraction: float = 0.15
    zero_fraction: float = 0.3  # the rest are whole crops
    label_reveal: float = 0.5  # a view's true label counts fully once this fraction of the part shows
    # weight of the uniform ("don't know") target of views without the part: 4 halves the zero-click
    # wins of 1 at 64 categories (5.5% -> 2.7%, chance 1.6%; README)
    unknown_weight: float = 4.0
    seed: int = 0
    time_budget_s: float = 240.0
    # Training by steps instead of wall time (None: the time budget): the same partner on any
    # machine, for tests and reruns. The split between the phases follows pretrain_fraction.
    steps: int | None = None


def demo_net(num_classes, config, codes=None):
    """The demo partner's network; `codes` (one per category: the benchmark's part codes) ties its
    category scores through the code book (training/nets/local_fcn.py)."""
    return LocalFCN(num_classes, width=config.width, codes=codes)


def clicks_of(mask, rng, n_clicks, careless):
    """(n_clicks, 2) x, y of a simulated player's first n_clicks (none when n_clicks is 0)."""
    if n_clicks == 0:
        return np.zeros((0, 2), dtype=np.int64)
    return trajectory(mask, rng, careless=careless, n_clicks=n_clicks)[:, :2]


def view_of(image, clicks_xy, seed, config):
    """The partner's view (crop_px, crop_px, 3) float32 of a uint8 or float image after `clicks_xy`,
    rendered by the game's own code (game.reveal.partner_view)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / np.float32(255)
    return partner_view(image, clicks_xy, seed, config.crop_px, config.bubble_px, config.noise_std)


def to_batch(views, input_size):
    """The game's own preprocessing (game.partner.PartnerRuntime): resize with antialiasing, normalise."""
    batch = torch.from_numpy(np.stack(views)).permute(0, 3, 1, 2).float()
    if batch.shape[-1] != input_size:
        batch = nn.functional.interpolate(batch, size=(input_size, input_size), mode="bilinear", antialias=True)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch - mean) / std


class ViewMaker:
    """Partner views for training, fast: the game's rule (game.reveal.partner_view) with the round's
    noise cut from a large pre-drawn field at a random offset, the revealed squares painted directly,
    and each image's simulated trajectories kept (a few per image) and replayed with random lengths.
    `window` = (top, left, size) renders only that part of the 224 px view."""

    N_TRAJECTORIES = 2

    def __init__(self, images, masks, config, rng):
        self.images, self.masks, self.config, self.rng = images, masks, config, rng
        self.noise = rng.standard_normal((2 * config.crop_px, 2 * config.crop_px, 3), dtype=np.float32)
        self.noise *= np.float32(config.noise_std)
        self.trajectories = {}

    def clicks(self, index, n_clicks, careless):
        if n_clicks == 0:
            return np.zeros((0, 2), dtype=np.int64)
        kept = self.trajectories.setdefault((index, careless), [])
        if len(kept) < self.N_TRAJECTORIES:
            kept.append(clicks_of(self.masks[index], self.rng, MAX_CLICKS, careless))
        return kept[int(self.rng.integers(len(kept)))][:n_clicks]

    def view(self, index, clicks_xy, window=None):
        """(the partner's view, the fraction of the diagnostic mask inside `window` that it reveals)."""
        config = self.config
        image, mask = self.images[index], self.masks[index]
        margin_y = (image.shape[0] - config.crop_px) // 2
        margin_x = (image.shape[1] - config.crop_px) // 2
        top, left, size = window or (0, 0, config.crop_px)
        y0, x0 = margin_y + top, margin_x + left
        crop = image[y0 : y0 + size, x0 : x0 + size].astype(np.float32) / np.float32(255)
        ny, nx = self.rng.integers(0, self.noise.shape[0] - size + 1, size=2)
        view = np.clip(crop + self.noise[ny : ny + size, nx : nx + size] - np.float32(0.5), 0.0, 1.0)
        revealed = np.zeros((size, size), dtype=bool)
        half = config.bubble_px // 2
        for x, y in np.asarray(clicks_xy).reshape(-1, 2):
            top_, left_ = max(y - half - y0, 0), max(x - half - x0, 0)
            bottom_, right_ = min(y + half + 1 - y0, size), min(x + half + 1 - x0, size)
            if bottom_ > top_ and right_ > left_:
                view[top_:bottom_, left_:right_] = crop[top_:bottom_, left_:right_]
                revealed[top_:bottom_, left_:right_] = True
        part = mask[y0 : y0 + size, x0 : x0 + size]
        n_part = int(part.sum())
        return view, (float(revealed[part].sum()) / n_part if n_part else 0.0)

    def _weighted(self, view, revealed_fraction):
        """The view and how much its true label counts (the rest of its target is uniform): a view
        that shows less than `label_reveal` of the part cannot be read, and is taught as "don't
        know" so that the network never learns to name an image by anything but its part (no
        memorising the clutter of training images seen through the noise or in careless reveals)."""
        if self.config.label_reveal <= 0:  # every view taught with its true label (a deliberate reader)
            return view, 1.0
        return view, min(1.0, revealed_fraction / self.config.label_reveal)

    def game_view(self, index):
        """A whole partner view with a random reveal (careful, careless, none, or the whole crop) and
        the weight of its true label."""
        config, rng = self.config, self.rng
        draw = rng.random()
        if draw < config.careful_fraction:
            return self._weighted(*self.view(index, self.clicks(index, _random_clicks(rng), careless=False)))
        draw -= config.careful_fraction
        if draw < config.careless_fraction:
            return self._weighted(*self.view(index, self.clicks(index, _random_clicks(rng), careless=True)))
        draw -= config.careless_fraction
        if draw < config.zero_fraction:
            return self._weighted(*self.view(index, self.clicks(index, 0, careless=False)))
        image = self.images[index]
        return centre_crop(image, config.crop_px).astype(np.float32) / np.float32(255), 1.0

    def part_crop(self, index):
        """A crop of a careful player's partner view around the diagnostic part (jittered, part inside),
        and the weight of its true label."""
        config, rng = self.config, self.rng
        mask = self.masks[index]
        margin = (mask.shape[0] - config.crop_px) // 2
        ys, xs = np.nonzero(mask[margin : margin + config.crop_px, margin : margin + config.crop_px])
        size = config.pretrain_crop_px
        limit = config.crop_px - size
        if len(xs) == 0:
            top, left = (int(v) for v in rng.integers(0, limit + 1, size=2))
        else:
            # any placement that keeps the part's box inside the crop (or over it when it cannot)
            low_x, high_x = sorted((int(xs.max()) + 1 - size, int(xs.min())))
            low_y, high_y = sorted((int(ys.max()) + 1 - size, int(ys.min())))
            left = int(np.clip(rng.integers(low_x, high_x + 1), 0, limit))
            top = int(np.clip(rng.integers(low_y, high_y + 1), 0, limit))
        if rng.random() < config.pretrain_clean_fraction:
            image = self.images[index]
            y0, x0 = (image.shape[0] - config.crop_px) // 2 + top, (image.shape[1] - config.crop_px) // 2 + left
            return image[y0 : y0 + size, x0 : x0 + size].astype(np.float32) / np.float32(255), 1.0
        clicks = self.clicks(index, _random_clicks(rng), careless=False)
        return self._weighted(*self.view(index, clicks, window=(top, left, size)))


def _random_clicks(rng):
    return POST_EVERY_CLICKS * int(rng.integers(1, MAX_CLICKS // POST_EVERY_CLICKS + 1))


def _run_phase(
    model, make_view, labels, rng, config, batch_size, input_size, budget_s, name, log, enough=None, max_steps=None
):
    """Train on make_view(index) batches for budget_s seconds (max_steps steps when given), or until
    the accuracy over the last 1,024 or more views reaches `enough`. Returns the steps taken."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    started = time.monotonic()
    step, seen, loss_sum, correct, logged = 0, 0, 0.0, 0, 0
    window_seen = window_correct = 0
    last_log = started
    while True:
        elapsed = time.monotonic() - started
        if (step >= max_steps) if max_steps is not None else (elapsed >= budget_s):
            break
        # cosine learning rate over the phase's budget (steps or seconds), after a short warm-up
        progress = step / max_steps if max_steps is not None else elapsed / budget_s
        lr = config.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + np.cos(np.pi * progress))
        for group in optimizer.param_groups:
            group["lr"] = lr
        indices = rng.integers(0, len(labels), batch_size)
        views, weights = zip(*(make_view(int(i)) for i in indices), strict=True)
        batch = to_batch(list(views), input_size)
        weight = torch.tensor(weights, dtype=torch.float32)
        logits = model(batch)
        named = nn.functional.cross_entropy(logits, labels_t[indices], label_smoothing=0.05, reduction="none")
        unknown = -torch.log_softmax(logits, dim=1).mean(dim=1)  # cross-entropy against the uniform target
        loss = (weight * named + config.unknown_weight * (1 - weight) * unknown).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        readable = weight >= 1  # accuracy counts the views whose part shows
        seen += int(readable.sum())
        loss_sum += float(loss.detach())
        logged += 1
        hits = int(((logits.argmax(1) == labels_t[indices]) & readable).sum())
        correct += hits
        window_seen, window_correct = window_seen + int(readable.sum()), window_correct + hits
        if window_seen >= 1024:
            if enough is not None and window_correct / window_seen >= enough:
                log(f"{name}: accuracy {window_correct / window_seen:.3f} over the last {window_seen} views, done")
                break
            window_seen = window_correct = 0
        if time.monotonic() - last_log > 30:
            log(
                f"{name}: {seen} readable views, loss {loss_sum / max(logged, 1):.3f}, "
                f"train accuracy {correct / max(seen, 1):.3f}, {elapsed:.0f} s"
            )
            last_log = time.monotonic()
            seen, loss_sum, correct, logged = 0, 0.0, 0, 0
    return step


def train_demo_partner(images, masks, labels, num_classes, config=None, log=print, codes=None):
    """Train the demo partner on (N, 256, 256, 3) uint8 (or [0, 1] float) images, their diagnostic
    masks and labels, within config.time_budget_s seconds of wall time (config.steps steps when set).
    `codes`: the categories' part codes when they are the synthetic benchmark's
    (game.synthetic_benchmark.category_codes)."""
    config = config or DemoConfig()
    images = [
        image if image.dtype == np.uint8 else np.round(np.clip(image, 0, 1) * 255).astype(np.uint8) for image in images
    ]
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = demo_net(num_classes, config, codes).train()
    scale = config.input_size / config.crop_px
    crop_input = max(8, int(round(config.pretrain_crop_px * scale)))
    started = time.monotonic()
    maker = ViewMaker(images, masks, config, rng)
    pretrain_steps = None if config.steps is None else int(config.steps * config.pretrain_fraction)
    pretrained = _run_phase(
        model,
        maker.part_crop,
        labels,
        rng,
        config,
        config.pretrain_batch,
        crop_input,
        config.time_budget_s * config.pretrain_fraction,
        "pretraining on crops around the part",
        log,
        enough=config.pretrain_enough,
        max_steps=pretrain_steps,
    )
    fine_tuned = _run_phase(
        model,
        maker.game_view,
        labels,
        rng,
        config,
        config.batch_size,
        config.input_size,
        config.time_budget_s - (time.monotonic() - started),
        "fine-tuning on partner views with random reveals",
        log,
        max_steps=None if config.steps is None else config.steps - pretrained,
    )
    log(f"trained in {time.monotonic() - started:.0f} s ({pretrained} pretraining and {fine_tuned} fine-tuning steps)")
    return model.eval()


def predictor(model, config):
    """predict(views) -> probabilities, as game.partner.PartnerRuntime computes them."""

    @torch.inference_mode()
    def predict(views):
        return torch.softmax(model.eval()(to_batch(list(views), config.input_size)), dim=1).numpy()

    return predict


def target_checks(report):
    """The game's targets for the demo partner as (name, measured, target, met) from a game.validity
    report: game/promotion_rule.py's, relative to the win rule's chance (docs/SCIENCE.md section 1)."""
    return [
        (f"{target.name} {'<=' if target.side == 'max' else '>='} target", target.rate, target.bound, target.met)
        for target in targets(report.as_dict())
    ]


def target_lines(report, training_s=None):
    """The targets as printed by train_demo_partner and kept in the README."""
    lines = []
    for (name, measured, target, met), rate in zip(
        target_checks(report), (report.zero_click, report.careful, report.careless), strict=True
    ):
        low, high = rate.ci95
        beyond = low > target if name.startswith(("zero", "careless")) else high < target
        verdict = "met" if met else ("MISSED" if beyond else "missed within the interval")
        lines.append(
            f"{name:<34} {100 * measured:5.1f}% [{100 * low:.1f}, {100 * high:.1f}] "
            f"({rate.wins}/{rate.n}), target {100 * target:.1f}%: {verdict}"
        )
    lines.append(f"{'chance (win rule top-' + str(report.top_k) + ')':<34} {100 * report.chance:5.2f}%")
    if report.careful_median_clicks is None:
        lines.append(f"{'careful player to a win':<34} no win")
    else:
        lines.append(
            f"{'careful player to a win (median)':<34} {report.careful_median_clicks:g} clicks, "
            f"{report.careful_median_ms / 1000:.2f} s"
        )
    if training_s is not None:
        lines.append(f"{'training time':<34} {training_s:.0f} s")
    return lines
