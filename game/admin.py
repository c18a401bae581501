"""Admin for the game's records; a round shows its clicks drawn over its image.

Research data (rounds, and the players who made them) is read-only here: bans, hidden nicknames and
deletions go through game/moderation.py, which recounts the images and rebuilds their maps."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from clickme_site.errors import Conflict

from . import moderation, services
from .models import Category, Image, Partner, Player, Round
from .partner_validity import VALIDITY_KEY, promotion_check, validity_rows


class ResearchDataAdmin(admin.ModelAdmin):
    """Viewable, never added, edited or deleted by hand; deletion is an action that rebuilds the maps."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_research_delete_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}")

    def has_moderate_permission(self, request):
        return request.user.has_perm("game.change_player")


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
    list_display = [
        "id",
        "thumbnail",
        "category",
        "split",
        "completed_rounds",
        "n_abandoned",
        "n_skipped",
        "n_flagged",
        "active",
        "playability",
        "retired",
        "created_at",
    ]
    list_filter = ["split", "active", "playability", "retired", "category"]
    search_fields = ["sha256", "source_name", "category__name", "category__wnid"]
    readonly_fields = [
        "sha256",
        "width",
        "height",
        "completed_rounds",
        "n_abandoned",
        "n_skipped",
        "n_flagged",
        "random_key",
        "playability",
        "screening",
        "mask_kept",
        "preview",
        "created_at",
    ]
    # The mask is a private file (no public URL: the file widget would fail to render it).
    exclude = ["mask"]
    list_select_related = ["category"]
    actions = ["activate", "deactivate", "unretire"]

    @admin.display(description="image")
    def thumbnail(self, obj):
        return format_html('<img src="{}" width="48" height="48" alt="">', obj.file.url) if obj.file else ""

    @admin.display(description="preview")
    def preview(self, obj):
        return format_html('<img src="{}" width="256" height="256" alt="">', obj.file.url) if obj.file else ""

    @admin.display(description="diagnostic mask")
    def mask_kept(self, obj):
        return "kept under PRIVATE_ROOT (never served)" if obj.mask else "none"

    @admin.display(description="screening against the active partner")
    def screening(self, obj):
        record = obj.screenings.filter(partner__is_active=True).first()
        if record is None:
            return "not screened against the active partner (a worker screens it: game.tasks.images_screen)"
        careful = f", first careful win after {record.careful_clicks} clicks" if record.careful_clicks else ""
        return (
            f"{record.get_verdict_display()}: full view {'won' if record.full_view_win else 'missed'}; won "
            f"{record.zero_click_wins}/{record.zero_click_rounds} zero-click, {record.careless_wins}/"
            f"{record.careless_rounds} careless (corners, borders), {record.careful_wins}/{record.careful_rounds} "
            f"careful rounds{careful} ({record.screened_at:%Y-%m-%d %H:%M})"
        )

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
class PlayerAdmin(ResearchDataAdmin):
    list_display = [
        "public_id",
        "nickname",
        "nickname_hidden",
        "round_count",
        "flagged_count",
        "banned_at",
        "consented_at",
        "created_at",
    ]
    search_fields = ["public_id", "nickname"]
    list_filter = [("banned_at", admin.EmptyFieldListFilter), "nickname_hidden", "created_at"]
    actions = ["ban", "unban", "hide_nickname", "show_nickname", "delete_with_rounds"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(n_rounds=Count("rounds"), n_flagged=Count("rounds", filter=Q(rounds__flagged=True)))
        )

    @admin.display(ordering="n_rounds", description="rounds")
    def round_count(self, obj):
        return obj.n_rounds

    @admin.display(ordering="n_flagged", description="flagged rounds")
    def flagged_count(self, obj):
        return obj.n_flagged

    @admin.action(
        description="Ban: leave their rounds out of maps, exports and the leaderboard", permissions=["moderate"]
    )
    def ban(self, request, queryset):
        for player in queryset:
            moderation.player_ban(player=player)
        self.message_user(request, f"Banned {queryset.count()} player(s); their images' maps are being rebuilt.")

    @admin.action(description="Lift the ban", permissions=["moderate"])
    def unban(self, request, queryset):
        for player in queryset:
            moderation.player_ban(player=player, banned=False)
        self.message_user(request, f"Lifted the ban of {queryset.count()} player(s); their maps are being rebuilt.")

    @admin.action(description="Hide the nickname (shown as anonymous)", permissions=["moderate"])
    def hide_nickname(self, request, queryset):
        for player in queryset:
            moderation.player_nickname_hide(player=player)

    @admin.action(description="Show the nickname again", permissions=["moderate"])
    def show_nickname(self, request, queryset):
        for player in queryset:
            moderation.player_nickname_hide(player=player, hidden=False)

    @admin.action(description="Delete with their rounds (rebuilds the maps they fed)", permissions=["research_delete"])
    def delete_with_rounds(self, request, queryset):
        rounds = sum(moderation.player_delete(player=player) for player in queryset)
        self.message_user(request, f"Deleted the players and their {rounds} round(s); the maps are being rebuilt.")


@admin.register(Round)
class RoundAdmin(ResearchDataAdmin):
    list_display = [
        "id",
        "player",
        "image",
        "partner",
        "state",
        "score",
        "n_clicks",
        "flags",
        "started_at",
        "finished_at",
    ]
    list_filter = ["flagged", "state", "partner", "image__category", "started_at"]
    search_fields = ["id", "player__nickname", "player__public_id", "image__sha256"]
    list_select_related = ["player", "image__category", "partner"]
    readonly_fields = ["clicks_over_image", "clicks", "last_guesses", "quality_flags"]
    actions = ["ban_players", "delete_rebuilding_maps"]

    @admin.display(description="quality flags")
    def flags(self, obj):
        return ", ".join(obj.quality_flags)

    @admin.action(description="Ban the players of the selected rounds", permissions=["moderate"])
    def ban_players(self, request, queryset):
        players = Player.objects.filter(pk__in=queryset.values("player_id"))
        for player in players:
            moderation.player_ban(player=player)
        self.message_user(request, f"Banned {len(players)} player(s); their images' maps are being rebuilt.")

    @admin.action(description="Delete (rebuilds the maps they fed)", permissions=["research_delete"])
    def delete_rebuilding_maps(self, request, queryset):
        deleted = moderation.rounds_delete(round_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Deleted {deleted} round(s); their maps are being rebuilt.")

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
    list_display = ["name", "architecture", "input_size", "is_active", "zero_click_win", "created_at"]
    list_filter = ["is_active", "architecture"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "game_validity"]
    actions = ["make_active", "make_active_forced"]

    @admin.display(description="zero-click win")
    def zero_click_win(self, obj):
        value = (obj.metrics or {}).get(VALIDITY_KEY, {}).get("zero_click_win")
        return "not measured" if value is None else f"{value:.0%}"

    @admin.display(description="game validity (manage.py partner_report recomputes it)")
    def game_validity(self, obj):
        rows = validity_rows((obj.metrics or {}).get(VALIDITY_KEY))
        if not rows:
            return "not computed: run manage.py partner_report --partner <id>"
        refusal = promotion_check(obj, force=True)
        verdict = f"refused at promotion: {refusal}" if refusal else "may be promoted"
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table id="game-validity">{}</table><p>{}</p>', body, verdict)

    def _activate(self, request, queryset, *, force):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one partner.", messages.ERROR)
            return
        partner = queryset.get()
        try:
            forced = promotion_check(partner, force=force)
        except Conflict as refusal:
            self.message_user(request, f"Not activated: {refusal.detail}", messages.ERROR)
            return
        services.partner_activate(partner=partner)
        suffix = f" (forced: {forced})" if forced else ""
        self.message_user(request, f"{partner.name} is now the game's partner.{suffix}")

    @admin.action(description="Make the game's partner (refused when its validity report says it wins without paint)")
    def make_active(self, request, queryset):
        self._activate(request, queryset, force=False)

    @admin.action(description="Make the game's partner even if its validity report refuses it", permissions=["force"])
    def make_active_forced(self, request, queryset):
        self._activate(request, queryset, force=True)

    def has_force_permission(self, request):
        return request.user.is_superuser
