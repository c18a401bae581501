"""The rapid-categorisation experiment's records: the experiment (admin-editable), its stored stimuli
and masks, participants and their trials, and model observers run on the same stimuli."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from game.models import Category, Image, Partner

from .design import DEFAULT_LEVELS, SOURCES

DEFAULT_CONSENT = (
    "This is a research study on how people recognise briefly shown images. It takes about 10 "
    "minutes. We record your key presses and response times, nothing else that identifies you. "
    "You may stop at any time."
)


def _default_sources():
    return list(SOURCES)


def _default_levels():
    return list(DEFAULT_LEVELS)


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        CLOSED = "closed"

    class StimuliState(models.TextChoices):
        NONE = "none"
        QUEUED = "queued"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    slug = models.SlugField(unique=True, help_text="the participants' link is /experiments/<slug>/")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    consent_text = models.TextField(default=DEFAULT_CONSENT)
    instructions = models.TextField(blank=True, help_text="extra instructions shown before practice")

    choice_a_label = models.CharField(max_length=60, default="animal")
    choice_a_key = models.CharField(max_length=1, default="f", help_text="one lower-case letter or digit")
    choice_a_categories = models.ManyToManyField(Category, related_name="+", help_text="images of these are A")
    choice_b_label = models.CharField(max_length=60, default="not animal")
    choice_b_key = models.CharField(max_length=1, default="j")
    choice_b_categories = models.ManyToManyField(
        Category, related_name="+", blank=True, help_text="images of these are B; empty: every category not in A"
    )
    images = models.ManyToManyField(Image, related_name="+", help_text="the images of the main trials")
    practice_images = models.ManyToManyField(
        Image, related_name="+", blank=True, help_text="images of the practice trials (none of the main images)"
    )

    feature_sources = models.JSONField(default=_default_sources, help_text=f"any of {list(SOURCES)}")
    reveal_levels = models.JSONField(default=_default_levels, help_text="percent of pixels visible, 1-100")
    fixation_ms = models.PositiveIntegerField(default=500, validators=[MaxValueValidator(5000)])
    stimulus_ms = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(10), MaxValueValidator(2000)], help_text="docs/SCIENCE.md: 50-400"
    )
    mask_ms = models.PositiveIntegerField(default=500, validators=[MaxValueValidator(5000)])
    response_window_ms = models.PositiveIntegerField(
        default=2000,
        validators=[MinValueValidator(200), MaxValueValidator(10000)],
        help_text="time to answer after the mask (a key is taken from stimulus onset on)",
    )
    n_trials = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    n_practice = models.PositiveIntegerField(default=6)
    trials_per_block = models.PositiveIntegerField(default=60, help_text="a pause after every N trials; 0: none")
    display_size_px = models.PositiveIntegerField(
        default=256, validators=[MinValueValidator(64), MaxValueValidator(1024)], help_text="CSS pixels"
    )
    completion_code = models.CharField(max_length=64, help_text="shown at the end (Prolific / MTurk)")
    completion_url = models.URLField(blank=True, help_text="optional link back to the crowd platform")
    seed = models.PositiveIntegerField(default=0)

    stimuli_state = models.CharField(max_length=8, choices=StimuliState.choices, default=StimuliState.NONE)
    stimuli_fingerprint = models.CharField(max_length=64, blank=True)
    stimuli_error = models.TextField(blank=True)
    stimuli_built_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title or self.slug

    @property
    def keys(self) -> tuple[str, str]:
        return self.choice_a_key, self.choice_b_key


class Stimulus(models.Model):
    """One image at one reveal level of one feature source, as a PNG under PRIVATE_ROOT (psychophysics/files.py)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="stimuli")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16)
    level_pct = models.PositiveSmallIntegerField()
    file = models.CharField(max_length=500, help_text="path under PRIVATE_ROOT")
    sha256 = models.CharField(max_length=64)
    map_fingerprint = models.CharField(max_length=64, help_text="the ClickMe map's fingerprint, or the saliency recipe")

    class Meta:
        ordering = ["experiment", "image", "source", "level_pct"]
        verbose_name_plural = "stimuli"
        constraints = [
            models.UniqueConstraint(fields=["experiment", "image", "source", "level_pct"], name="one_stimulus_per_cell")
        ]

    def __str__(self):
        return f"image {self.image_id} {self.source} {self.level_pct}%"


class NoiseMask(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="masks")
    index = models.PositiveSmallIntegerField()
    file = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["experiment", "index"]
        constraints = [models.UniqueConstraint(fields=["experiment", "index"], name="one_mask_per_index")]


class Participant(models.Model):
    """An anonymous participant, bound to a browser session (and to a hashed crowd-platform id)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="participants")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.PositiveIntegerField(help_text="row of the Latin square")
    replicate = models.PositiveIntegerField(help_text="participants of the same group before this one")
    platform = models.CharField(max_length=16, blank=True)
    external_id_hash = models.CharField(max_length=64, blank=True, help_text="salted hash of PROLIFIC_PID etc.")
    n_trials = models.PositiveIntegerField(help_text="practice and main trials planned")
    next_index = models.PositiveIntegerField(default=0, help_text="index of the first unanswered trial")
    consented_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_seen_at = models.DateTimeField()
    user_agent = models.CharField(max_length=400, blank=True)
    screen_width = models.PositiveIntegerField(null=True, blank=True)
    screen_height = models.PositiveIntegerField(null=True, blank=True)
    device_pixel_ratio = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "external_id_hash"],
                condition=~models.Q(external_id_hash=""),
                name="one_participant_per_external_id",
            )
        ]

    def __str__(self):
        return f"participant {str(self.public_id)[:8]}"


class Trial(models.Model):
    class Phase(models.TextChoices):
        PRACTICE = "practice"
        MAIN = "main"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="trials")
    index = models.PositiveIntegerField()
    phase = models.CharField(max_length=8, choices=Phase.choices)
    stimulus = models.ForeignKey(Stimulus, on_delete=models.PROTECT, related_name="trials")
    mask = models.ForeignKey(NoiseMask, on_delete=models.PROTECT, related_name="trials")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16)
    level_pct = models.PositiveSmallIntegerField()
    correct_key = models.CharField(max_length=1)
    condition = models.PositiveIntegerField(null=True, blank=True, help_text="Latin-square condition (main trials)")
    requested_stimulus_ms = models.PositiveIntegerField()

    responded_at = models.DateTimeField(null=True, blank=True, help_text="when the server stored the answer")
    response_key = models.CharField(max_length=1, blank=True, help_text="empty: no answer within the window")
    timed_out = models.BooleanField(default=False)
    is_correct = models.BooleanField(null=True)
    rt_ms = models.FloatField(null=True, blank=True, help_text="from stimulus onset")
    requested_frames = models.PositiveIntegerField(null=True, blank=True)
    shown_frames = models.PositiveIntegerField(null=True, blank=True)
    shown_stimulus_ms = models.FloatField(null=True, blank=True)
    frame_interval_ms = models.FloatField(null=True, blank=True)
    timing = models.JSONField(default=dict, blank=True, help_text="the page's other timing figures")

    class Meta:
        ordering = ["participant", "index"]
        constraints = [models.UniqueConstraint(fields=["participant", "index"], name="one_trial_per_index")]
        indexes = [models.Index(fields=["phase", "responded_at"], name="trial_answered")]

    def __str__(self):
        return f"trial {self.index} of {self.participant}"


class ObserverRun(models.Model):
    """A registered network shown every stimulus of an experiment (a "model observer")."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="observer_runs")
    partner = models.ForeignKey(Partner, on_delete=models.SET_NULL, null=True, related_name="+")
    partner_name = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stimuli_fingerprint = models.CharField(max_length=64, blank=True)
    n_stimuli = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.partner_name} on {self.experiment_id} ({self.status})"


class ObserverResponse(models.Model):
    run = models.ForeignKey(ObserverRun, on_delete=models.CASCADE, related_name="responses")
    stimulus = models.ForeignKey(Stimulus, on_delete=models.CASCADE, related_name="+")
    p_choice_a = models.FloatField(help_text="p(A) / (p(A) + p(B))")
    choice_key = models.CharField(max_length=1)
    is_correct = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "stimulus"], name="one_answer_per_stimulus")]
