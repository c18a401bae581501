"""factory_boy factories for the game's rows."""

import hashlib

import factory
from django.utils import timezone

from game.models import Category, Image, Player, Round


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"category {n}")
    wnid = factory.Sequence(lambda n: f"n{n:08d}")


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    file = factory.django.ImageField(width=256, height=256, color="gray")
    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"image {n}".encode()).hexdigest())
    width = 256
    height = 256
    category = factory.SubFactory(CategoryFactory)
    split = "train"
    # Served as if screened playable: the game's mechanics are tested against scripted partners that the
    # screening would refuse (they ignore their input); tests/game/test_screening.py screens for real.
    playability = "playable"


class PlayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Player


class RoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Round

    player = factory.SubFactory(PlayerFactory)
    image = factory.SubFactory(ImageFactory)
    time_limit_ms = 7000
    started_at = factory.LazyFunction(timezone.now)
