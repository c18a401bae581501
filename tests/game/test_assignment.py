"""Image assignment (issue 8 item 6): the fewest-played tie, broken at random over all of it, in one query."""

import random

from django.db import connection
from django.test.utils import CaptureQueriesContext

from game.models import Image
from game.selectors import assignable_image_id
from tests.factories import CategoryFactory, ImageFactory, PlayerFactory, RoundFactory


def test_a_new_player_sees_mixed_categories_from_the_first_round(db):
    random.seed(0)  # the images' random keys and the thresholds below
    crowded = CategoryFactory(name="imported first")
    ImageFactory.create_batch(60, category=crowded)  # the 60 lowest ids: one category
    for k in range(9):
        ImageFactory.create_batch(10, category=CategoryFactory(name=f"later {k}"))
    player = PlayerFactory()
    seen = []
    for _ in range(10):
        image_id = assignable_image_id(player_id=player.pk)
        RoundFactory(player=player, image_id=image_id, state="expired")
        seen.append(Image.objects.get(pk=image_id).category.name)
    assert len(set(seen)) >= 5, seen


def test_the_tie_is_drawn_from_every_least_played_image(db):
    random.seed(1)
    images = ImageFactory.create_batch(12)
    Image.objects.filter(pk__in=[i.pk for i in images[:4]]).update(completed_rounds=3)
    player = PlayerFactory()
    drawn = {assignable_image_id(player_id=player.pk) for _ in range(400)}
    assert drawn == {i.pk for i in images[4:]}  # all eight least played, none of the others


def test_a_threshold_above_every_key_wraps_round_to_the_lowest(db):
    images = ImageFactory.create_batch(3)
    for image, key in zip(images, (0.2, 0.5, 0.8), strict=True):
        Image.objects.filter(pk=image.pk).update(random_key=key)
    player = PlayerFactory()
    assert assignable_image_id(player_id=player.pk, threshold=0.4) == images[1].pk
    assert assignable_image_id(player_id=player.pk, threshold=0.9) == images[0].pk
    RoundFactory(player=player, image=images[0])
    assert assignable_image_id(player_id=player.pk, threshold=0.9) == images[1].pk


def test_seen_retired_and_inactive_images_are_never_drawn_and_it_is_one_query(db):
    seen, retired, inactive, free = ImageFactory.create_batch(4)
    Image.objects.filter(pk=retired.pk).update(retired=True)
    Image.objects.filter(pk=inactive.pk).update(active=False)
    player = PlayerFactory()
    RoundFactory(player=player, image=seen, state="expired")
    with CaptureQueriesContext(connection) as queries:
        drawn = assignable_image_id(player_id=player.pk)
    assert drawn == free.pk and len(queries) == 1
    RoundFactory(player=player, image=free)
    assert assignable_image_id(player_id=player.pk) is None
