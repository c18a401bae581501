"""Stored data under the new rules: the data migration recounts the images from their rounds, and
`review_rounds` flags rounds stored before the quality rule existed."""

import importlib

from django.apps import apps
from django.core.management import call_command
from django.db import connection

from game.models import Image, Round
from tests.factories import ImageFactory, PlayerFactory, RoundFactory

migration = importlib.import_module("game.migrations.0004_recount_image_rounds")


def test_the_data_migration_recounts_images_from_their_stored_rounds(db, settings):
    settings.CLICKME = {**settings.CLICKME, "PLAYS_PER_IMAGE": 2}
    attacked, played, fresh = ImageFactory.create_batch(3)
    # retired by the old rule: four abandoned 0-click rounds
    Image.objects.filter(pk=attacked.pk).update(completed_rounds=4, retired=True)
    for _ in range(4):
        RoundFactory(image=attacked, state="expired", n_clicks=0)
    for n_clicks, state in ((12, "won"), (15, "expired"), (2, "skipped")):
        RoundFactory(image=played, state=state, n_clicks=n_clicks, clicks=[[1, 1, 0]] * n_clicks)
    RoundFactory(image=played, state="expired", n_clicks=14, flagged=True, quality_flags=["static"])
    RoundFactory(image=played, state="open", n_clicks=1)
    Image.objects.filter(pk=played.pk).update(completed_rounds=9)

    migration.recount(apps, None)
    counts = {
        image.pk: (image.completed_rounds, image.n_abandoned, image.n_skipped, image.n_flagged, image.retired)
        for image in Image.objects.all()
    }
    assert counts[attacked.pk] == (0, 4, 0, 0, False)  # back in play
    assert counts[played.pk] == (2, 0, 1, 1, True)
    assert counts[fresh.pk] == (0, 0, 0, 0, False)


def test_the_data_migration_gives_each_image_its_own_random_key(db):
    ImageFactory.create_batch(20)
    Image.objects.update(random_key=0.5)  # what AddField's one default left on existing rows
    # not entered: SQLite's editor cannot disable its foreign key checks inside the test's transaction
    migration.randomise_keys(apps, connection.schema_editor())  # PostgreSQL's UPDATE, or the ORM's on SQLite
    keys = list(Image.objects.values_list("random_key", flat=True))
    assert len(set(keys)) == 20 and all(0 <= key < 1 for key in keys)


def test_review_rounds_flags_rounds_stored_before_the_rule(db, capsys):
    image_a, image_b = ImageFactory.create_batch(2)
    bot, human = PlayerFactory(), PlayerFactory()
    path = [[50 + 3 * k, 60 + 2 * k, 50 * k] for k in range(12)]
    old = [
        RoundFactory(player=bot, image=image, state="expired", clicks=path, n_clicks=12) for image in (image_a, image_b)
    ]
    kept = RoundFactory(
        player=human, image=image_a, state="won", clicks=[[9 + k, 200 - 4 * k, 50 * k] for k in range(12)], n_clicks=12
    )
    Image.objects.update(completed_rounds=3)
    call_command("review_rounds")
    assert "judged 3 rounds; 2 newly flagged" in capsys.readouterr().out
    flags = dict(Round.objects.values_list("pk", "quality_flags"))
    assert flags[old[0].pk] == flags[old[1].pk] == ["duplicate_path"] and flags[kept.pk] == []
    assert dict(Image.objects.values_list("pk", "completed_rounds")) == {image_a.pk: 1, image_b.pk: 0}


def test_rounds_too_short_for_a_map_neither_feed_one_nor_retire_their_image_by_default(db, settings):
    """CLICKME_MIN_CLICKS defaults to the authors' 10 (docs/SCIENCE.md section 2); the data migration and
    `recount_images` put the images retired by shorter rounds back in play."""
    from clickme_site.settings import base

    assert base.CLICKME["MIN_CLICKS"] == 10 == settings.CLICKME["MIN_CLICKS"]
    settings.CLICKME = {**settings.CLICKME, "PLAYS_PER_IMAGE": 2}
    flooded, played = ImageFactory.create_batch(2)
    for _ in range(3):  # what one-click rounds from throwaway sessions left under the old default
        RoundFactory(image=flooded, state="expired", n_clicks=1, clicks=[[30, 30, 0]])
    for k in range(2):
        stroke = [[20 + 40 * k + 3 * j, 20 + 2 * j, 50 * j] for j in range(10)]
        RoundFactory(image=played, state="won", n_clicks=10, clicks=stroke)
    Image.objects.update(completed_rounds=3, retired=True)
    assert sorted(Round.objects.map_eligible().values_list("image_id", flat=True)) == [played.pk, played.pk]

    importlib.import_module("game.migrations.0010_recount_images_for_min_clicks").recount_images(apps, None)
    counts = {image.pk: (image.completed_rounds, image.n_abandoned, image.retired) for image in Image.objects.all()}
    assert counts == {flooded.pk: (0, 3, False), played.pk: (2, 0, True)}

    Image.objects.update(completed_rounds=0, n_abandoned=0, retired=False)
    call_command("recount_images")
    assert {
        image.pk: (image.completed_rounds, image.n_abandoned, image.retired) for image in Image.objects.all()
    } == counts
