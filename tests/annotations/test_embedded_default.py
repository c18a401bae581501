"""The map path on whatever database the lane runs (SQLite 3.40 in `make test-sqlite`, as `make run`
with no DATABASE_URL): the SQL it runs is portable."""

from django.db import connection

from annotations import selectors, services
from annotations.models import ClickMap
from clickme_site.json_functions import JSONArrayLength
from game.models import Round
from tests.factories import PlayerFactory, RoundFactory

from .conftest import play


def test_a_map_rebuild_builds_the_map_on_this_database(played_images):
    clickmap = services.map_rebuild(image_id=played_images[0].pk)
    assert clickmap is not None and clickmap.n_players == 6
    assert ClickMap.objects.get(image=played_images[0]).fingerprint == clickmap.fingerprint
    assert services.maps_rebuild_stale() == 1 and selectors.stale_image_ids() == []


def test_the_fingerprint_taken_in_sql_is_the_one_of_the_clicks_read(played_images):
    image = played_images[0]
    play(image, 1, seed=3, n_clicks=17)
    assert selectors.map_inputs_fingerprint(image_id=image.pk) == selectors.map_inputs(image_id=image.pk).fingerprint


def test_json_array_length_counts_the_elements_of_a_stored_array(db, played_images):
    empty = RoundFactory(image=played_images[2], player=PlayerFactory(), clicks=[], n_clicks=0)
    three = RoundFactory(image=played_images[2], player=PlayerFactory(), clicks=[[1, 2, 0]] * 3, n_clicks=3)
    lengths = dict(Round.objects.filter(pk__in=[empty.pk, three.pk]).values_list("pk", JSONArrayLength("clicks")))
    assert lengths == {empty.pk: 0, three.pk: 3}, connection.vendor
