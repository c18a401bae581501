"""A week of plausible activity for the staff dashboard (its browser test and screenshot): players and
rounds at every hour, maps rebuilt over a month, two partners, training jobs with per-epoch history."""

import hashlib
import math
import random
from datetime import datetime, timedelta

from annotations.models import ClickMap
from game.models import Category, Image, Partner, Player, Round
from training.models import TrainingJob

CATEGORY_NAMES = [
    "red ring",
    "red plus",
    "blue saltire",
    "blue triangle",
    "yellow diamond",
    "yellow bars",
    "green arrow",
    "green crescent",
    "violet star",
    "violet hourglass",
]
VALIDITY = {
    "zero_click_win": 0.03,
    "careless_win": 0.31,
    "careful_win": 0.88,
    "chance": 0.02,
    "careful_median_clicks": 34,
    "careful_median_ms": 2450,
    "n_images": 200,
    "top_k": 1,
    "computed_at": "2026-11-27T09:00:00+00:00",
}


def dashboard_rows(now: datetime, seed: int = 0) -> None:
    rng = random.Random(seed)
    categories = [Category.objects.create(name=name, wnid=f"d{k:07d}") for k, name in enumerate(CATEGORY_NAMES)]
    images = Image.objects.bulk_create(
        Image(
            file=f"images/d{k}.png",
            sha256=hashlib.sha256(f"dashboard {k}".encode()).hexdigest(),
            width=256,
            height=256,
            category=categories[k % len(categories)],
            active=k % 9 != 0,
        )
        for k in range(120)
    )
    old = Partner.objects.create(name="demo-2026-11-20", architecture="exported", weights_file="old.pt2")
    new = Partner.objects.create(
        name="demo-2026-11-24",
        architecture="exported",
        weights_file="new.pt2",
        metrics={"validity": VALIDITY},
        is_active=True,
    )
    players = Player.objects.bulk_create(Player(nickname=f"p{k}") for k in range(60))
    pairs = [(p, i) for p in players for i in images]
    rng.shuffle(pairs)
    rounds = []
    switch = now - timedelta(days=3)
    for hour in range(7 * 24):
        start = now - timedelta(hours=hour)
        daily = 0.5 + 0.5 * math.sin((start.hour - 9) / 24 * 2 * math.pi)  # busier in the afternoon
        for _ in range(rng.randint(0, int(4 + 14 * daily))):
            player, image = pairs.pop()
            started = start - timedelta(minutes=rng.randint(0, 59))
            partner = new if started > switch else old
            won = rng.random() < (0.62 if partner is new else 0.48)
            state = Round.State.SKIPPED if rng.random() < 0.05 else (Round.State.WON if won else Round.State.EXPIRED)
            rounds.append(
                Round(
                    player=player,
                    image=image,
                    partner=partner,
                    state=state,
                    score=rng.randint(40, 95) if state == Round.State.WON else 0,
                    n_clicks=rng.randint(10, 80),
                    time_limit_ms=7000,
                    started_at=started,
                    finished_at=started + timedelta(seconds=rng.uniform(1, 7)),
                )
            )
    Round.objects.bulk_create(rounds)
    ClickMap.objects.bulk_create(
        ClickMap(
            image=image,
            data=b"",
            height=256,
            width=256,
            n_players=rng.randint(2, 15),
            n_clicks=rng.randint(50, 900),
            split_half_rho=min(0.95, 0.45 + 0.012 * (30 - age) + rng.uniform(-0.08, 0.08)),
            fingerprint="x" * 64,
            updated_at=now - timedelta(days=age, hours=rng.randint(0, 20)),
        )
        for image, age in ((image, rng.randint(0, 29)) for image in images[: int(len(images) * 0.7)])
    )
    for k, (arch, epochs) in enumerate([("gala_resnet_tiny", 14), ("resnet_tiny", 10)]):
        history = [
            {
                "epoch": e,
                "train_loss": 2.3 * math.exp(-e / (4 + k)) + 0.25 + rng.uniform(0, 0.04),
                "train_top1": min(0.99, 0.2 + 0.06 * e),
                "val_top1": min(0.9, 0.15 + 0.055 * e - 0.02 * k),
                "val_attention_rho": (0.2 + 0.03 * e) if arch.startswith("gala") else None,
            }
            for e in range(1, epochs + 1)
        ]
        TrainingJob.objects.create(
            config={"arch": arch, "epochs": epochs},
            status=TrainingJob.Status.DONE,
            progress=1.0,
            history=history,
            metrics=history[-1],
        )
