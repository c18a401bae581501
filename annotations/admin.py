"""Admin for maps (shown as a heatmap over the image) and exports."""

import base64

from django.contrib import admin
from django.utils.html import format_html
from PIL import Image as PILImage

from game.images import as_float_array

from . import services
from .heatmap import heatmap_png
from .map_encoding import npy_array
from .models import ClickMap, Export


@admin.register(ClickMap)
class ClickMapAdmin(admin.ModelAdmin):
    list_display = ["image", "n_players", "n_clicks", "split_half_rho", "source", "updated_at"]
    list_filter = ["source", "image__category", "image__split", "updated_at"]
    search_fields = ["image__id", "image__sha256", "image__category__name"]
    list_select_related = ["image__category"]
    exclude = ["data"]
    readonly_fields = [
        "heatmap",
        "image",
        "height",
        "width",
        "n_players",
        "n_clicks",
        "split_half_rho",
        "fingerprint",
        "source",
        "updated_at",
    ]
    actions = ["rebuild"]

    # research data: maps come from the clicks alone (rebuild), never from a hand edit
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="map over the image")
    def heatmap(self, obj):
        with obj.image.file.open("rb") as handle, PILImage.open(handle) as image:
            png = heatmap_png(as_float_array(image) * 255.0, npy_array(obj.data).astype("float64"))
        return format_html('<img src="data:image/png;base64,{}" width="384" alt="">', base64.b64encode(png).decode())

    @admin.action(description="Rebuild the selected maps from their clicks")
    def rebuild(self, request, queryset):
        for image_id in queryset.values_list("image_id", flat=True):
            services.map_rebuild(image_id=image_id, force=True)


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "n_maps", "size", "size_bytes", "requested_by", "created_at", "finished_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "sha256", "requested_by__username"]
    readonly_fields = ["id", "status", "n_maps", "size_bytes", "sha256", "file", "error", "created_at", "finished_at"]
