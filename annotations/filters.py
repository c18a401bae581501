"""The researchers' filters, shared by the images list, the clicks stream and exports."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q

from game.models import Category, Image, Round


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant, converted to UTC here: an offset the database cannot hold (say +23:59) or an
    instant outside the representable years is the client's error (400), not the database's (500)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(dt.UTC) if parsed is not None else None
        except OverflowError as exc:
            raise forms.ValidationError("This instant is outside the supported range.") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ImageFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all())
    min_players = django_filters.NumberFilter(method="filter_min_players", min_value=0)
    updated_since = UtcIsoDateTimeFilter(field_name="clickmap__updated_at", lookup_expr="gte")
    split = django_filters.ChoiceFilter(choices=Image.Split.choices)

    class Meta:
        model = Image
        fields = ["category", "min_players", "updated_since", "split"]

    def filter_min_players(self, queryset, name, value):
        if value <= 0:
            return queryset
        return queryset.filter(clickmap__n_players__gte=value)


IMAGE_FILTER_KEYS = set(ImageFilter.base_filters)


FLAGGED_CHOICES = [
    ("exclude", "leave out flagged rounds and rounds of banned players (the default)"),
    ("include", "every round, with its flags"),
    ("only", "only flagged rounds and rounds of banned players"),
]


class RoundFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(field_name="image__category", queryset=Category.objects.all())
    image = django_filters.ModelChoiceFilter(queryset=Image.objects.all())
    since = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    flagged = django_filters.ChoiceFilter(choices=FLAGGED_CHOICES, method="filter_flagged", empty_label=None)

    class Meta:
        model = Round
        fields = ["category", "image", "since", "flagged"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("flagged", "exclude")
        super().__init__(data, *args, **kwargs)

    def filter_flagged(self, queryset, name, value):
        left_out = Q(flagged=True) | Q(player__banned_at__isnull=False)
        if value == "exclude":
            return queryset.exclude(left_out)
        if value == "only":
            return queryset.filter(left_out)
        return queryset
