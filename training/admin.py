"""Admin for training jobs and models (curves shown; promote as an action). Imports no torch:
promoting loads it in this process only when the action runs."""

from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.utils.html import format_html

from clickme_site.errors import ServiceError

from . import jobs, registry, selectors
from .models import ModelVersion, TrainingJob


def _curves(path):
    if not path:
        return ""
    return format_html('<img src="{}" width="720" alt="training curves">', default_storage.url(path))


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "device", "created_at", "finished_at"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["id", "error"]
    readonly_fields = [
        "curves",
        "status",
        "progress",
        "metrics",
        "history",
        "device",
        "error",
        "decision",
        "started_at",
        "finished_at",
    ]
    actions = ["cancel"]

    @admin.display(description="curves")
    def curves(self, obj):
        version = selectors.model_version_of_job(job=obj)
        return _curves(version.curves if version else "")

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        for job in queryset:
            jobs.job_cancel(job=job)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "arch", "val_top1", "test_top1", "partner_now", "created_at"]
    list_filter = ["arch", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["curves_plot", "metrics", "config", "categories", "checkpoint", "partner", "job"]
    actions = ["promote"]

    @admin.display(description="val top-1 (selects)")
    def val_top1(self, obj):
        return obj.metrics.get("val_top1")

    @admin.display(description="test top-1 (reported)")
    def test_top1(self, obj):
        return obj.metrics.get("test_top1")

    @admin.display(boolean=True, description="partner")
    def partner_now(self, obj):
        return obj.is_partner

    @admin.display(description="curves")
    def curves_plot(self, obj):
        return _curves(obj.curves)

    @admin.action(description="Make the game's partner")
    def promote(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model.", messages.ERROR)
            return
        try:
            version = registry.model_promote(version=queryset.get())
        except (ServiceError, ValueError, OSError) as error:
            self.message_user(request, f"Cannot promote: {error}", messages.ERROR)
            return
        self.message_user(request, f"{version.name} is now the game's partner.")
