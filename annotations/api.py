"""The researchers' REST API (docs/API.md "Researchers"): token auth, cursor pagination, filters, exports."""

import json

from django.http import HttpResponse, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from PIL import Image as PILImage
from rest_framework import exceptions, generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from clickme_site.errors import NotFound, ServiceError
from clickme_site.private_files import private_file_response
from game.images import as_float_array
from game.models import Round

from . import selectors, services
from .filters import FLAGGED_CHOICES, ImageFilter, RoundFilter
from .heatmap import heatmap_png
from .map_encoding import npy_array
from .models import ClickMap, Export
from .queueing import maps_rebuild_all_queue

MAX_PAGE_SIZE = 1000


class ResearchPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "id"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"page_size": "must be an integer"}) from None
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise exceptions.ValidationError({"page_size": f"must be from 1 to {MAX_PAGE_SIZE}"})
        return value


MAX_ROW_ID = 2**63 - 1  # the largest value of a BigAutoField, on PostgreSQL and SQLite alike


def parse_id(raw, name="id"):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise exceptions.ValidationError({name: "must be an integer"}) from None
    if value < 1:
        raise exceptions.ValidationError({name: "must be a positive integer"})
    return value


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    wnid = serializers.CharField()
    n_images = serializers.IntegerField()
    n_maps = serializers.IntegerField()


class ImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image_url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    category = serializers.IntegerField(source="category_id")
    split = serializers.CharField()
    n_players = serializers.SerializerMethodField()
    n_clicks = serializers.SerializerMethodField()
    map_updated_at = serializers.SerializerMethodField()
    split_half_rho = serializers.SerializerMethodField()
    n_abandoned = serializers.IntegerField(help_text="completed rounds with fewer clicks than a map needs")
    n_skipped = serializers.IntegerField(help_text="rounds whose player skipped the image")
    n_flagged = serializers.IntegerField(help_text="rounds left out by the quality rule or a ban")
    playability = serializers.CharField(
        help_text="its screening against the active partner: served to players only when 'playable'"
    )
    source_name = serializers.CharField(
        help_text="the file it was imported from, as named under what was imported "
        "(`ILSVRC2012_val_00000001.JPEG`, `n01440764/x.JPEG`, or the path a manifest gives)"
    )

    def _map(self, image):
        try:
            return image.clickmap
        except ClickMap.DoesNotExist:
            return None

    def get_image_url(self, image) -> str:
        return self.context["request"].build_absolute_uri(image.file.url)

    def get_n_players(self, image) -> int:
        clickmap = self._map(image)
        return clickmap.n_players if clickmap else 0

    def get_n_clicks(self, image) -> int:
        clickmap = self._map(image)
        return clickmap.n_clicks if clickmap else 0

    def get_map_updated_at(self, image) -> str | None:
        clickmap = self._map(image)
        return serializers.DateTimeField().to_representation(clickmap.updated_at) if clickmap else None

    def get_split_half_rho(self, image) -> float | None:
        clickmap = self._map(image)
        return clickmap.split_half_rho if clickmap else None


class CategoryList(generics.ListAPIView):
    serializer_class = CategorySerializer
    pagination_class = ResearchPagination

    def get_queryset(self):
        return selectors.categories_with_counts()


class ImageList(generics.ListAPIView):
    serializer_class = ImageSerializer
    pagination_class = ResearchPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = ImageFilter

    def get_queryset(self):
        return selectors.images_with_maps().defer("clickmap__data")


class ImageDetail(APIView):
    @extend_schema(responses=ImageSerializer, parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)])
    def get(self, request, pk):
        image = selectors.images_with_maps().defer("clickmap__data").filter(pk=parse_id(pk)).first()
        if image is None:
            raise NotFound("no such image", "not_found")
        return Response(ImageSerializer(image, context={"request": request}).data)


def _map_of(pk):
    image_id = parse_id(pk)
    if image_id > MAX_ROW_ID:  # no row has it, and SQLite cannot bind it (this foreign key lookup has no range guard)
        raise NotFound("no such image", "not_found")
    clickmap = ClickMap.objects.select_related("image").filter(image_id=image_id).first()
    if clickmap is None:
        if not selectors.images_with_maps().filter(pk=image_id).exists():
            raise NotFound("no such image", "not_found")
        raise NotFound("no completed round touched this image yet", "no_map")
    return clickmap


class MapNpy(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        summary="The map as float32 .npy",
    )
    def get(self, request, pk):
        clickmap = _map_of(pk)
        data = bytes(clickmap.data)
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="clickme-map-{clickmap.image_id}.npy"'
        return response


class MapPng(APIView):
    @extend_schema(
        responses={(200, "image/png"): OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        summary="The map over the image",
    )
    def get(self, request, pk):
        clickmap = _map_of(pk)
        with clickmap.image.file.open("rb") as handle, PILImage.open(handle) as image:
            rgb = as_float_array(image) * 255.0
        return HttpResponse(heatmap_png(rgb, npy_array(clickmap.data).astype("float64")), content_type="image/png")


class ClicksStream(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("category", int),
            OpenApiParameter("image", int),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter(
                "flagged",
                enum=[value for value, _label in FLAGGED_CHOICES],
                default="exclude",
                description="rounds flagged by the quality rule (game/round_quality.py) or of banned players: "
                "left out (exclude), with the others (include), or alone (only); each row lists its `flags`",
            ),
        ],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        summary="Raw rounds as JSON Lines",
    )
    def get(self, request):
        filterset = RoundFilter(request.query_params, queryset=Round.objects.all())
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        lines = (
            json.dumps(row, separators=(",", ":")) + "\n"
            for row in selectors.rounds_for_research(queryset=filterset.qs)
        )
        return StreamingHttpResponse(lines, content_type="application/x-ndjson")


class StatsView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Stats",
            {
                "n_images": serializers.IntegerField(),
                "n_maps": serializers.IntegerField(),
                "n_players": serializers.IntegerField(),
                "n_rounds": serializers.IntegerField(),
                "n_clicks": serializers.IntegerField(),
                "split_half_rho": serializers.DictField(),
            },
        )
    )
    def get(self, request):
        return Response(selectors.dataset_stats())


class ExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    n_maps = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    download_url = serializers.SerializerMethodField()
    error = serializers.CharField()
    size = serializers.IntegerField()
    filters = serializers.DictField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_download_url(self, export) -> str | None:
        if export.status != Export.Status.DONE:
            return None
        return self.context["request"].build_absolute_uri(f"/api/v1/exports/{export.id}/download")


def _export_of(request, pk):
    export = Export.objects.filter(pk=pk).first()
    if export is None or (export.requested_by_id != request.user.id and not request.user.is_staff):
        raise NotFound("no such export", "not_found")
    return export


class ExportCreate(APIView):
    @extend_schema(
        request=inline_serializer(
            "ExportRequest",
            {
                "format": serializers.ChoiceField(choices=["npz"]),
                "filters": serializers.DictField(required=False),
                "size": serializers.IntegerField(required=False),
            },
        ),
        responses={
            202: inline_serializer("ExportQueued", {"id": serializers.UUIDField(), "status": serializers.CharField()})
        },
    )
    def post(self, request):
        try:
            export = services.export_request(user=request.user, body=request.data)
        except ValueError as error:
            raise ServiceError(str(error), "invalid") from error
        return Response({"id": str(export.id), "status": export.status}, status=status.HTTP_202_ACCEPTED)


class ExportDetail(APIView):
    @extend_schema(responses=ExportSerializer)
    def get(self, request, pk):
        return Response(ExportSerializer(_export_of(request, pk), context={"request": request}).data)


class ExportDownload(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        export = _export_of(request, pk)
        if export.status != Export.Status.DONE:
            raise ServiceError(f"the export is {export.status}", "not_ready", status.HTTP_409_CONFLICT)
        return private_file_response(export.file, as_attachment=True, content_type="application/octet-stream")


class MapsRebuild(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={202: OpenApiResponse(description="queued")})
    def post(self, request):
        maps_rebuild_all_queue()
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
