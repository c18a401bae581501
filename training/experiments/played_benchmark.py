"""The experiment's data, made by playing the game (docs/SCIENCE.md sections 1, 2 and 7). Needs Django and
a database the experiment may fill (synthetic_benchmark.main makes a throwaway one).

1. Benchmark images with their diagnostic masks are imported into the game (game.importing).
2. The demo partner is trained on other images of the same generator, exported and activated.
3. A simulated crowd plays every image through game.services until it is retired (15 map-eligible
   rounds: game/simulated_crowd.py), judged by the game's quality rules.
4. The maps are built by annotations.services.map_rebuild (the project's recipe), with their
   split-half rho; they are read back with the images, masks and labels as plain arrays.
"""

import contextlib
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.dispatch import Signal
from PIL import Image as PILImage

from annotations.map_encoding import npy_array
from annotations.maps import split_half_null
from annotations.models import ClickMap
from annotations.selectors import qualifying_rounds
from annotations.services import map_rebuild
from game import partner as partner_runtime
from game.importing import ImportItem, image_import
from game.models import Image, Playability
from game.partner_registry import partner_register
from game.partner_validity import VALIDITY_KEY, promotion_check
from game.reveal import centre_crop, partner_view
from game.screening import playability_counts, screen_pending
from game.services import partner_activate
from game.signals import images_changed, round_finished
from game.simulated_crowd import crowd_play
from game.simulated_players import trajectory
from game.synthetic_benchmark import CATEGORIES, scene

from .. import demo_partner
from ..partner_export import partner_export


@contextlib.contextmanager
def throwaway_database(suffix="experiment"):
    """A database made for the block (`<name>_<suffix>`, dropped after) with media and private files
    in a temporary folder, which is yielded: an experiment never writes into the live database."""
    from django.db import connection
    from django.test.utils import override_settings

    if connection.vendor != "postgresql":  # the map and quality queries use PostgreSQL's JSON functions
        raise RuntimeError(
            f"the experiment needs PostgreSQL, and the database is {connection.vendor}: set DATABASE_URL "
            "(e.g. postgres://postgres@127.0.0.1:5432/clickme)"
        )
    connection.settings_dict.setdefault("TEST", {})
    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_{suffix}"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with tempfile.TemporaryDirectory(prefix=f"clickme-{suffix}-") as folder:
            with override_settings(MEDIA_ROOT=f"{folder}/media", PRIVATE_ROOT=f"{folder}/private"):
                yield Path(folder)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


@contextlib.contextmanager
def map_receivers_off():
    """The game's receivers queue a map rebuild on a broker after each round; inside this block they
    are disconnected, and the caller builds the maps itself, in order (annotations.services.map_rebuild)."""
    from annotations import receivers as annotation_receivers

    receivers: list[tuple[Signal, str, Callable[..., Any]]] = [
        (round_finished, "annotations.queue_map_rebuild", annotation_receivers.queue_map_rebuild),
        (images_changed, "annotations.queue_maps_rebuild", annotation_receivers.queue_maps_rebuild),
    ]
    for signal, uid, _handler in receivers:
        signal.disconnect(dispatch_uid=uid)
    try:
        yield
    finally:
        for signal, uid, handler in receivers:
            signal.connect(handler, dispatch_uid=uid)


def generate(n_categories, n_per_category, seed):
    """(images uint8 (N, 256, 256, 3), masks bool (N, 256, 256), labels (N,)), category-interleaved."""
    rng = np.random.default_rng(seed)
    images, masks, labels = [], [], []
    for _position in range(n_per_category):
        for label in range(n_categories):
            image, mask = scene(rng, label)
            images.append(image)
            masks.append(mask)
            labels.append(label)
    return np.stack(images), np.stack(masks), np.asarray(labels)


def images_into_game(images, masks, labels, folder):
    """Import the images (and masks) into the game; returns the Image ids in the same order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for index, (image, mask, label) in enumerate(zip(images, masks, labels, strict=True)):
        image_path, mask_path = folder / f"{index:05d}.png", folder / f"{index:05d}-mask.png"
        PILImage.fromarray(image).save(image_path)
        PILImage.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        name, wnid, _colour = CATEGORIES[label]
        imported = image_import(ImportItem(path=image_path, category=name, wnid=wnid, mask=mask_path))
        if imported is None:
            raise RuntimeError(f"image {index} is a duplicate of an imported image")
        ids.append(imported.pk)
    return ids


def _demo_config(steps, seed, time_budget_s):
    """The demo partner's config with the game's reveal settings: trained for `steps` steps, or for
    time_budget_s seconds when steps is None."""
    wanted = {
        "steps": steps,
        "seed": seed,
        "time_budget_s": time_budget_s,
        "bubble_px": settings.CLICKME["PARTNER_BUBBLE_PX"],
        "noise_std": settings.CLICKME["NOISE_STD"],
        "crop_px": settings.CLICKME["PARTNER_CROP_PX"],
    }
    names = {field.name for field in dataclasses.fields(demo_partner.DemoConfig)}
    return demo_partner.DemoConfig(**{key: value for key, value in wanted.items() if key in names})


def partner_top1(partner, images, masks, labels, n_clicks=None, seed=1):
    """Top-1 of the registered partner, as the game runs it, on full views (n_clicks None) or after the
    first n_clicks of a careful simulated player."""
    runtime = partner_runtime.PartnerRuntime(partner_runtime.PartnerSpec.of(partner))
    rng = np.random.default_rng(seed)
    crop, bubble, noise = (settings.CLICKME[k] for k in ("PARTNER_CROP_PX", "PARTNER_BUBBLE_PX", "NOISE_STD"))
    views = []
    for image, mask in zip(images, masks, strict=True):
        image = image.astype(np.float32) / 255.0
        if n_clicks is None:
            views.append(centre_crop(image, crop))
        else:
            clicks = trajectory(mask, rng, careless=False, n_clicks=n_clicks)[:, :2]
            views.append(partner_view(image, clicks, int(rng.integers(2**31)), crop, bubble, noise))
    predicted = np.concatenate(
        [runtime.predict(np.stack(views[k : k + 64])).argmax(1) for k in range(0, len(views), 64)]
    )
    return {"top1": float((predicted == np.asarray(labels)).mean())}


def partner_train_and_activate(n_categories, n_per_category, seed, steps, time_budget_s, folder, log):
    """Train the demo partner on its own images (not the experiment's), register and activate it."""
    images, masks, labels = generate(n_categories, n_per_category, seed)
    held_out = len(labels) - max(n_categories * 2, len(labels) // 8)
    config = _demo_config(steps, seed, time_budget_s)
    as_float = images.astype(np.float32) / 255.0
    model = demo_partner.train_demo_partner(
        list(as_float[:held_out]),
        list(masks[:held_out]),
        labels[:held_out],
        n_categories,
        config,
        log=log,
        codes=[CATEGORIES[k][2] for k in range(n_categories)],
    )
    path = partner_export(
        model,
        Path(folder) / "partner.pt2",
        categories=[{"wnid": CATEGORIES[k][1], "name": CATEGORIES[k][0]} for k in range(n_categories)],
        input_size=config.input_size,
        mean=demo_partner.MEAN,
        std=demo_partner.STD,
        architecture=demo_partner.ARCHITECTURE,
    )
    # Registering computes the partner's validity report on the active images (game/partner_validity.py).
    partner = partner_register(name="experiment-demo-partner", weights_path=path, activate=False)
    partner.refresh_from_db()
    rest = (images[held_out:], masks[held_out:], labels[held_out:])
    metrics = {
        "held_out_full": partner_top1(partner, *rest),
        "held_out_after_35_careful_clicks": partner_top1(partner, *rest, n_clicks=35),
        "held_out_after_0_clicks": partner_top1(partner, *rest, n_clicks=0),
        "n_train": int(held_out),
        "n_held_out": int(len(labels) - held_out),
        "validity": partner.metrics.get(VALIDITY_KEY),
    }
    # A refused partner still plays (forced), and RESULTS.md says so: the maps are reported either way.
    metrics["validity_refusal"] = promotion_check(partner, force=True)
    partner_activate(partner=partner)
    # Every image is screened against it (docs/SCIENCE.md section 1), as the game's worker would; the
    # verdicts are reported (played_maps then serves every image all the same).
    screen_pending(partner=partner)
    metrics["playability"] = playability_counts()
    return metrics


def played_maps(
    images,
    masks,
    labels,
    *,
    n_categories,
    folder,
    partner_per_category=30,
    partner_steps=None,
    partner_time_budget_s=240.0,
    careless_fraction=0.2,
    seed=0,
    log=print,
):
    """Play the game on `images` and return their maps and what the play measured (a dict)."""
    started = time.monotonic()
    with map_receivers_off():
        ids = images_into_game(images, masks, labels, Path(folder) / "images")
        log(f"imported {len(ids)} images; training the partner on {partner_per_category} images per category")
        partner = partner_train_and_activate(
            n_categories, partner_per_category, seed + 7919, partner_steps, partner_time_budget_s, folder, log
        )
        log(f"partner: {partner}")
        # The experiment's design needs a map of every image (a held-out image without one is no test),
        # so the crowd plays each whatever its screening said; the verdicts are in partner["playability"].
        Image.objects.filter(pk__in=ids).update(playability=Playability.PLAYABLE)
        mask_of = dict(zip(ids, masks, strict=True))
        played_at = time.monotonic()
        crowd = crowd_play(mask_of.get, careless_fraction=careless_fraction, seed=seed, log=log)
        play_seconds = time.monotonic() - played_at
        maps, rhos, players = [], [], []
        for image_id in ids:
            map_rebuild(image_id=image_id)
            clickmap = ClickMap.objects.filter(image_id=image_id).first()
            maps.append(npy_array(clickmap.data) if clickmap else np.zeros(images.shape[1:3], np.float32))
            rhos.append(clickmap.split_half_rho if clickmap and clickmap.split_half_rho is not None else np.nan)
            players.append(clickmap.n_players if clickmap else 0)
        # docs/SCIENCE.md section 2: the null of split-half rho, halves of two different images
        sample = [[np.asarray(c) for _id, c in qualifying_rounds(image_id=i)] for i in ids[:40]]
        null = split_half_null(sample, images.shape[1], images.shape[2], seed=seed)
    return {
        "maps": np.stack(maps).astype(np.float32),
        "split_half_rho": np.asarray(rhos, dtype=np.float64),
        "n_players": np.asarray(players),
        "split_half_null": null,
        "crowd": crowd.summary(),
        "partner": partner,
        "play_seconds": play_seconds,
        "seconds": time.monotonic() - started,
    }
