"""The researchers' filters, shared by the images list, the clicks stream and exports."""

import django_filters
from django.db.models import Q

from game.models import Category, Image, Round


class ImageFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all())
    min_players = django_filters.NumberFilter(method="filter_min_players", min_value=0)
    updated_since = django_filters.IsoDateTimeFilter(field_name="clickmap__updated_at", lookup_expr="gte")
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
    since = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
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
