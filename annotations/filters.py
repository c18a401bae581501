"""The researchers' filters, shared by the images list, the clicks stream and exports."""

import django_filters

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


class RoundFilter(django_filters.FilterSet):
    category = django_filters.ModelChoiceFilter(field_name="image__category", queryset=Category.objects.all())
    image = django_filters.ModelChoiceFilter(queryset=Image.objects.all())
    since = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")

    class Meta:
        model = Round
        fields = ["category", "image", "since"]
