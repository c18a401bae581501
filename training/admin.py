"""Admin for training jobs and models (curves shown; promote as an action)."""

from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.utils.html import format_html

from . import services
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
        version = ModelVersion.objects.filter(job=obj).first()
        return _curves(version.curves if version else "")

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        for job in queryset:
            services.job_cancel(job)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "arch", "test_top1", "partner_now", "created_at"]
    list_filter = ["arch", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["curves_plot", "metrics", "config", "categories", "checkpoint", "partner", "job"]
    actions = ["promote"]

    @admin.display(description="test top-1")
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
        version = services.model_promote(queryset.get())
        self.message_user(request, f"{version.name} is now the game's partner.")
