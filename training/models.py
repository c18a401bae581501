"""Training jobs and the model registry."""

import uuid

from django.conf import settings
from django.db import models


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        MANUAL = "manual"
        SCHEDULED = "scheduled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    config = models.JSONField()
    progress = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict, blank=True, help_text="latest epoch's numbers and the final evaluation")
    history = models.JSONField(default=list, blank=True, help_text="one record per epoch")
    device = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    decision = models.JSONField(default=dict, blank=True, help_text="scheduled jobs: promote or not, and why")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="when its task reached the broker; empty while the broker was unreachable"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of its process")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.config.get('arch', '?')} job {str(self.id)[:8]} ({self.status})"


class ModelVersion(models.Model):
    """A trained checkpoint with its evaluation; promoting it makes it the game's partner."""

    name = models.CharField(max_length=200, unique=True)
    arch = models.CharField(max_length=64)
    config = models.JSONField()
    metrics = models.JSONField(default=dict)
    checkpoint = models.CharField(max_length=500, help_text="path under PRIVATE_ROOT")
    curves = models.CharField(max_length=500, blank=True, help_text="training curves PNG under PRIVATE_ROOT")
    categories = models.JSONField(default=list, help_text="[{id, wnid, name}] in output order")
    job = models.OneToOneField(
        TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    partner = models.OneToOneField(
        "game.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    n_maps_at_training = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    @property
    def is_partner(self):
        return self.partner is not None and self.partner.is_active
