"""Admin for the game's records; a round shows its clicks drawn over its image."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html, format_html_join

from . import services
from .models import Category, Image, Partner, Player, Round


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "wnid", "image_count"]
    search_fields = ["name", "wnid"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_images=Count("images"))

    @admin.display(ordering="n_images", description="images")
    def image_count(self, obj):
        return obj.n_images


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "category", "split", "completed_rounds", "active", "retired", "created_at"]
    list_filter = ["split", "active", "retired", "category"]
    search_fields = ["sha256", "source_name", "category__name", "category__wnid"]
    readonly_fields = ["sha256", "width", "height", "completed_rounds", "preview", "created_at"]
    list_select_related = ["category"]
    actions = ["activate", "deactivate", "unretire"]

    @admin.display(description="image")
    def thumbnail(self, obj):
        return format_html('<img src="{}" width="48" height="48" alt="">', obj.file.url) if obj.file else ""

    @admin.display(description="preview")
    def preview(self, obj):
        return format_html('<img src="{}" width="256" height="256" alt="">', obj.file.url) if obj.file else ""

    @admin.action(description="Activate selected images")
    def activate(self, request, queryset):
        queryset.update(active=True)

    @admin.action(description="Deactivate selected images")
    def deactivate(self, request, queryset):
        queryset.update(active=False)

    @admin.action(description="Un-retire selected images")
    def unretire(self, request, queryset):
        queryset.update(retired=False)


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["public_id", "nickname", "round_count", "consented_at", "created_at"]
    search_fields = ["public_id", "nickname"]
    list_filter = ["created_at"]
    readonly_fields = ["public_id", "ip_hash", "created_at", "consented_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_rounds=Count("rounds"))

    @admin.display(ordering="n_rounds", description="rounds")
    def round_count(self, obj):
        return obj.n_rounds


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["id", "player", "image", "partner", "state", "score", "n_clicks", "started_at", "finished_at"]
    list_filter = ["state", "partner", "image__category", "started_at"]
    search_fields = ["id", "player__nickname", "player__public_id", "image__sha256"]
    list_select_related = ["player", "image__category", "partner"]
    readonly_fields = ["clicks_over_image", "clicks", "last_guesses"]
    raw_id_fields = ["player", "image"]

    @admin.display(description="clicks over the image")
    def clicks_over_image(self, obj):
        if not obj.image_id or not obj.image.file:
            return ""
        width, height = obj.image.width, obj.image.height
        half = services.game_setting("BUBBLE_SIZE_PX") / 2
        squares = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="rgba(255,200,0,0.35)" stroke="rgba(255,120,0,0.8)" stroke-width="0.5"/>',
            ((x - half, y - half, 2 * half, 2 * half) for x, y, _t in obj.clicks),
        )
        return format_html(
            '<svg width="{w2}" height="{h2}" viewBox="0 0 {w} {h}"><image href="{url}" width="{w}" height="{h}"/>{sq}</svg>',
            w=width,
            h=height,
            w2=width * 2,
            h2=height * 2,
            url=obj.image.file.url,
            sq=squares,
        )


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "architecture", "input_size", "is_active", "created_at"]
    list_filter = ["is_active", "architecture"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
    actions = ["make_active"]

    @admin.action(description="Make the game's partner")
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one partner.", messages.ERROR)
            return
        partner = services.partner_activate(queryset.get())
        self.message_user(request, f"{partner.name} is now the game's partner.")
