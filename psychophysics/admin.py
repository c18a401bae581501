"""Admin: researchers configure an experiment here, generate its stimuli, open it and run observers."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from clickme_site.errors import ServiceError
from game.models import Image

from . import design, experiments, observers
from .models import Experiment, ObserverRun, Participant, Stimulus, Trial
from .stimulus_generation import stimuli_request

DESIGN_FIELDS = [
    "choice_a_label", "choice_a_key", "choice_a_categories", "choice_b_label", "choice_b_key", "choice_b_categories",
    "images", "practice_images", "feature_sources", "reveal_levels", "fixation_ms", "stimulus_ms", "mask_ms",
    "response_window_ms", "n_trials", "n_practice", "seed",
]  # fmt: skip
SPLITS = [("", "---------")] + list(Image.Split.choices)


class ExperimentForm(forms.ModelForm):
    completion_url = forms.URLField(
        required=False, assume_scheme="https", help_text="optional link back to the platform"
    )
    fill_images_split = forms.ChoiceField(
        choices=SPLITS,
        required=False,
        label="Fill the main images from split",
        help_text="replaces the main images with every active image of the choices' categories in this split",
    )
    fill_per_category = forms.IntegerField(
        min_value=1, required=False, label="at most per category", help_text="the lowest ids first"
    )
    fill_practice_split = forms.ChoiceField(
        choices=SPLITS,
        required=False,
        label="Fill the practice images from split",
        help_text="n_practice images of the choices' categories, half of each choice, none of the main images",
    )

    class Meta:
        model = Experiment
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "images" in self.fields:
            self.fields["images"].required = False  # may come from fill_images_split; clean() checks

    def _choice_images(self, split, categories_a, categories_b):
        images = Image.objects.filter(active=True, split=split)
        if categories_b:
            return images.filter(Q(category__in=categories_a) | Q(category__in=categories_b))
        return images

    def _fill(self, data, categories_a, categories_b):
        if data.get("fill_images_split"):
            chosen = []
            pool = self._choice_images(data["fill_images_split"], categories_a, categories_b).order_by(
                "category_id", "id"
            )
            per_category: dict[int, int] = {}
            for image in pool:
                per_category[image.category_id] = per_category.get(image.category_id, 0) + 1
                if not data.get("fill_per_category") or per_category[image.category_id] <= data["fill_per_category"]:
                    chosen.append(image.pk)
            data["images"] = Image.objects.filter(pk__in=chosen)
        if data.get("fill_practice_split"):
            main = set(data["images"].values_list("pk", flat=True)) if data.get("images") is not None else set()
            pool = self._choice_images(data["fill_practice_split"], categories_a, categories_b).exclude(pk__in=main)
            n = data.get("n_practice") or 0
            side_a = list(pool.filter(category__in=categories_a).order_by("id").values_list("pk", flat=True))
            side_b = list(pool.exclude(category__in=categories_a).order_by("id").values_list("pk", flat=True))
            picked = side_a[: (n + 1) // 2] + side_b[: n // 2]
            data["practice_images"] = Image.objects.filter(pk__in=picked)

    def clean(self):
        data = super().clean()
        if self.errors or data is None:
            return data
        categories_a = {c.pk for c in data.get("choice_a_categories", [])}
        categories_b = {c.pk for c in data.get("choice_b_categories", [])}
        self._fill(data, categories_a, categories_b)
        candidate = Experiment(
            **{k: v for k, v in data.items() if k in {f.name for f in Experiment._meta.concrete_fields}}
        )
        try:
            experiments.design_check(
                experiment=candidate,
                categories_a=categories_a,
                categories_b=categories_b,
                images=list(data.get("images") or []),
                practice_images=list(data.get("practice_images") or []),
            )
        except design.DesignError as error:
            field, _, message = str(error).partition(": ")
            if field in self.fields:
                self.add_error(field, message)
            else:
                raise forms.ValidationError(str(error)) from error
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "slug", "status", "stimuli_state", "participant_count", "completed_count", "links"]
    list_filter = ["status", "stimuli_state"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["images", "practice_images"]
    filter_horizontal = ["choice_a_categories", "choice_b_categories"]
    readonly_fields = ["status", "stimuli_state", "stimuli_error", "stimuli_fingerprint", "stimuli_built_at", "links"]
    actions = ["generate_stimuli", "open_experiments", "close_experiments"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "links", "consent_text", "instructions"]}),
        ("Two-way choice", {"fields": ["choice_a_label", "choice_a_key", "choice_a_categories", "choice_b_label",
                                       "choice_b_key", "choice_b_categories"]}),
        ("Images", {"fields": ["images", "fill_images_split", "fill_per_category", "practice_images",
                               "fill_practice_split"]}),
        ("Design", {"fields": ["feature_sources", "reveal_levels", "n_trials", "n_practice", "trials_per_block", "seed"]}),
        ("Timing", {"fields": ["fixation_ms", "stimulus_ms", "mask_ms", "response_window_ms", "display_size_px"]}),
        ("Crowd platform", {"fields": ["completion_code", "completion_url"]}),
        ("Stimuli", {"fields": ["stimuli_state", "stimuli_error", "stimuli_fingerprint", "stimuli_built_at"]}),
    ]  # fmt: skip

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_participants=Count("participants"),
                n_completed=Count("participants", filter=Q(participants__completed_at__isnull=False)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and experiments.design_frozen(obj):  # participants have joined: the design stays
            fields += DESIGN_FIELDS
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not experiments.design_frozen(obj):
            return fieldsets
        fill = {"fill_images_split", "fill_per_category", "fill_practice_split"}
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in fill]})
            for name, options in fieldsets
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and experiments.design_frozen(obj):
            kwargs["form"] = forms.ModelForm  # the design fields are read-only: nothing to check
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(ordering="n_participants", description="participants")
    def participant_count(self, obj):
        return obj.n_participants

    @admin.display(ordering="n_completed", description="completed")
    def completed_count(self, obj):
        return obj.n_completed

    @admin.display(description="links")
    def links(self, obj):
        if obj.pk is None:
            return ""
        return format_html(
            '<a href="{}">participants\' page</a> · <a href="{}">results</a>',
            reverse("psychophysics:experiment", args=[obj.slug]),
            reverse("psychophysics:results", args=[obj.slug]),
        )

    def _each(self, request, queryset, action, done):
        for experiment in queryset:
            try:
                action(experiment=experiment)
                self.message_user(request, f"{experiment}: {done}", messages.SUCCESS)
            except ServiceError as error:
                self.message_user(request, f"{experiment}: {error.detail}", messages.ERROR)

    @admin.action(description="Generate the stimuli (a worker builds them)")
    def generate_stimuli(self, request, queryset):
        self._each(request, queryset, stimuli_request, "stimuli queued")

    @admin.action(description="Open to participants")
    def open_experiments(self, request, queryset):
        self._each(request, queryset, experiments.experiment_open, "open")

    @admin.action(description="Close (no more joins or answers)")
    def close_experiments(self, request, queryset):
        self._each(request, queryset, experiments.experiment_close, "closed")


@admin.register(ObserverRun)
class ObserverRunAdmin(admin.ModelAdmin):
    """Adding a run queues it: a worker shows the network every stimulus of the experiment."""

    list_display = ["partner_name", "experiment", "status", "n_stimuli", "created_at", "finished_at"]
    list_filter = ["status", "experiment"]
    fields = ["experiment", "partner", "status", "n_stimuli", "error", "created_at", "finished_at"]

    def get_readonly_fields(self, request, obj=None):
        done = ["status", "n_stimuli", "error", "created_at", "finished_at"]
        return done + (["experiment", "partner"] if obj is not None else [])

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            run = observers.observer_request(experiment=obj.experiment, partner=obj.partner, user=request.user)
        except ServiceError as error:
            self.message_user(request, error.detail, messages.ERROR)
            return
        obj.pk = run.pk
        obj.refresh_from_db()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "experiment",
        "group",
        "platform",
        "next_index",
        "n_trials",
        "completed_at",
        "created_at",
    ]
    list_filter = ["experiment", "platform", "completed_at"]
    search_fields = ["public_id"]


@admin.register(Trial)
class TrialAdmin(ReadOnlyAdmin):
    list_display = ["participant", "index", "phase", "source", "level_pct", "response_key", "is_correct", "rt_ms",
                    "requested_frames", "shown_frames", "shown_stimulus_ms"]  # fmt: skip
    list_filter = ["phase", "source", "level_pct", "is_correct", "participant__experiment"]
    list_select_related = ["participant"]


@admin.register(Stimulus)
class StimulusAdmin(ReadOnlyAdmin):
    list_display = ["thumbnail", "experiment", "image", "source", "level_pct", "sha256"]
    list_filter = ["experiment", "source", "level_pct"]
    list_select_related = ["experiment"]

    @admin.display(description="stimulus")
    def thumbnail(self, obj):
        url = reverse("psychophysics:stimulus-file", args=[obj.experiment.slug, obj.pk])
        return format_html('<img src="{}" width="64" height="64" alt="">', url)
