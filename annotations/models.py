"""ClickMe maps (one per image) and the researchers' exports."""

import uuid

from django.conf import settings
from django.db import models

from game.models import Image


class ClickMap(models.Model):
    """The map of docs/SCIENCE.md section 2 for one image, as float32 .npy bytes, with its summary."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="clickmap")
    data = models.BinaryField(help_text="float32 .npy bytes, shape (height, width), max 1")
    height = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    n_players = models.PositiveIntegerField()
    n_clicks = models.PositiveIntegerField()
    split_half_rho = models.FloatField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the recipe and the rounds it was built from")
    source = models.CharField(max_length=16, default="clicks", choices=[("clicks", "clicks"), ("imported", "imported")])
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["image_id"]

    def __str__(self):
        return f"map of image {self.image_id}"


class Export(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    format = models.CharField(max_length=8, default="npz")
    filters = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField(default=224)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    n_maps = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.CharField(max_length=500, blank=True, help_text="path under PRIVATE_ROOT")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="when its task reached the broker; empty while the broker was unreachable"
    )
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of the worker building it")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"export {self.id} ({self.status})"
