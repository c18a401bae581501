"""The game's records: categories, images, anonymous players, rounds with their clicks, partners."""

import random
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clickme_site.private_files import private_storage


def random_key():
    """A uniform key in [0, 1) per image: ties between equally played images go to a random one."""
    return random.random()


def anonymous_name(public_id):
    """How a player without a nickname is shown."""
    return f"anonymous {str(public_id)[:8]}"


class Category(models.Model):
    name = models.CharField(max_length=200, unique=True)
    wnid = models.CharField("WordNet id", max_length=32, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Playability(models.TextChoices):
    """An image's standing against the active partner (docs/SCIENCE.md section 1, per-image playability):
    served only when "playable"; the values but the first two are game.validity.Playability's verdicts."""

    PLAYABLE = "playable"
    UNSCREENED = "unscreened", "not screened against the active partner yet"
    OUTSIDE_CATEGORIES = "outside_categories", "its category is not one of the partner's"
    NOT_RECOGNISED = "not_recognised", "the partner does not recognise it in full view"
    WON_UNPAINTED = "won_unpainted", "the partner recognises it with nothing painted"
    WON_CARELESSLY = "won_carelessly", "strokes in the corners or along the borders win it"
    CAREFUL_LOST = "careful_lost", "careful paint of the object does not win it in time"


class Image(models.Model):
    class Split(models.TextChoices):
        TRAIN = "train"
        VAL = "val"
        TEST = "test"

    file = models.ImageField(upload_to="images/")
    sha256 = models.CharField(max_length=64, unique=True, help_text="sha256 of the source file's bytes")
    source_name = models.CharField(max_length=500, blank=True, help_text="file name it was imported from")
    width = models.PositiveIntegerField(help_text="width as served, px")
    height = models.PositiveIntegerField(help_text="height as served, px")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="images")
    split = models.CharField(max_length=5, choices=Split.choices, default=Split.TRAIN, db_index=True)
    mask = models.ImageField(
        upload_to="masks/",
        storage=private_storage,
        blank=True,
        help_text="ground-truth diagnostic mask (synthetic benchmark only), under PRIVATE_ROOT",
    )
    active = models.BooleanField(default=True)
    playability = models.CharField(
        max_length=24,
        choices=Playability.choices,
        default=Playability.UNSCREENED,
        help_text="its screening against the active partner: served only when playable (while a partner is active)",
    )
    retired = models.BooleanField(default=False, help_text="set after plays_per_image rounds that feed its map")
    completed_rounds = models.PositiveIntegerField(
        default=0, db_index=True, help_text="rounds that can feed its map (these count towards retirement)"
    )
    n_abandoned = models.PositiveIntegerField(default=0, help_text="completed rounds with fewer than min_clicks clicks")
    n_skipped = models.PositiveIntegerField(default=0, help_text="rounds whose player skipped the image")
    n_flagged = models.PositiveIntegerField(
        default=0, help_text="completed rounds left out for their quality flags or their player's ban"
    )
    random_key = models.FloatField(default=random_key, help_text="breaks ties between equally played images")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["completed_rounds", "random_key"],
                condition=Q(active=True, retired=False),
                name="image_assignable",
            ),
            models.Index(
                fields=["completed_rounds", "random_key"],
                condition=Q(active=True, retired=False, playability="playable"),
                name="image_playable",
            ),
        ]

    def __str__(self):
        return f"{self.category.name} #{self.pk}"


class Player(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    nickname = models.CharField(max_length=32, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True, help_text="salted hash of the first IP seen")
    consented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    banned_at = models.DateTimeField(
        null=True, blank=True, help_text="banned players' rounds are left out of maps, exports and the leaderboard"
    )
    nickname_hidden = models.BooleanField(default=False, help_text="shown as anonymous on the leaderboard")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.nickname or anonymous_name(self.public_id)


class Partner(models.Model):
    """A network that plays with the players: an exported artifact or a torchvision classifier."""

    name = models.CharField(max_length=200, unique=True)
    architecture = models.CharField(
        max_length=64, help_text='"exported" for a self-contained torch.export artifact, else a torchvision name'
    )
    weights_file = models.CharField(max_length=500, help_text="path of the artifact or weights file")
    category_mapping = models.JSONField(
        default=list, help_text="one entry per network output: [category id or null, label]"
    )
    input_size = models.PositiveIntegerField(default=224)
    mean = models.JSONField(default=list)
    std = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_partner")
        ]

    def __str__(self):
        return self.name


class ImageScreening(models.Model):
    """An image's screening against one partner: simulated rounds of each kind and what they won
    (game/screening.py); the active partner's verdict is copied to Image.playability."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="screenings")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="screenings")
    verdict = models.CharField(max_length=24, choices=Playability.choices)
    full_view_win = models.BooleanField(default=False)
    zero_click_wins = models.PositiveSmallIntegerField(default=0)
    zero_click_rounds = models.PositiveSmallIntegerField(default=0)
    careless_wins = models.PositiveSmallIntegerField(default=0)
    careless_rounds = models.PositiveSmallIntegerField(default=0)
    careful_wins = models.PositiveSmallIntegerField(default=0)
    careful_rounds = models.PositiveSmallIntegerField(default=0)
    careful_clicks = models.PositiveIntegerField(
        null=True, blank=True, help_text="clicks seen at the first careful win"
    )
    screened_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["image_id"]
        constraints = [models.UniqueConstraint(fields=["image", "partner"], name="one_screening_per_image_partner")]

    def __str__(self):
        return f"image {self.image_id} against {self.partner_id}: {self.verdict}"


def map_eligible(prefix: str = "") -> Q:
    """The rounds that can feed a ClickMe map (docs/SCIENCE.md section 2) and count towards an image's
    retirement: completed, at least MIN_CLICKS clicks, not flagged, not of a banned player.
    `prefix` reaches rounds through a relation ("rounds__"). The one definition."""
    return Q(
        **{
            f"{prefix}state__in": COMPLETED_STATES,
            f"{prefix}n_clicks__gte": settings.CLICKME["MIN_CLICKS"],
            f"{prefix}flagged": False,
            f"{prefix}player__banned_at__isnull": True,
        }
    )


class RoundQuerySet(models.QuerySet):
    def map_eligible(self):
        return self.filter(map_eligible())


class Round(models.Model):
    class State(models.TextChoices):
        OPEN = "open"
        WON = "won"
        EXPIRED = "expired"
        SKIPPED = "skipped"  # the player could not find the object: counted, never scored, never in a map

    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="rounds")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="rounds")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="rounds", null=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN, db_index=True)
    score = models.PositiveIntegerField(default=0)
    clicks = models.JSONField(default=list, help_text="[[x, y, t_ms], ...] in served-image pixels")
    n_clicks = models.PositiveIntegerField(default=0)
    time_limit_ms = models.PositiveIntegerField()
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    recognized_at_ms = models.PositiveIntegerField(null=True, blank=True)
    last_guesses = models.JSONField(default=list, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    screen_width = models.PositiveIntegerField(null=True, blank=True)
    screen_height = models.PositiveIntegerField(null=True, blank=True)
    quality_flags = models.JSONField(
        default=list, blank=True, help_text="game/round_quality.py: why the round is left out of maps (empty: kept)"
    )
    flagged = models.BooleanField(default=False, help_text="quality_flags is not empty")
    path_fingerprint = models.JSONField(
        null=True, blank=True, help_text="[n_clicks, x0, y0, ...]: the path resampled, to find replays"
    )

    objects = RoundQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["player", "image"], name="one_round_per_player_image"),
            # A new round abandons the open one (game/services.py round_start); concurrent starts too.
            models.UniqueConstraint(fields=["player"], condition=Q(state="open"), name="one_open_round_per_player"),
        ]
        indexes = [
            models.Index(fields=["state", "finished_at"], name="round_finished"),
            models.Index(fields=["player", "started_at"], name="round_player_started"),
        ]

    def __str__(self):
        return f"round {self.pk} ({self.state})"


# The states of a round that was played to its end (won, or out of time / given up): the one definition.
COMPLETED_STATES = (Round.State.WON, Round.State.EXPIRED)
