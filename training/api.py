"""Training jobs and the model registry over the research API (API.md "training" and "models" rows)."""

from django.core.files.storage import default_storage
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.api import ResearchPagination
from clickme_site.errors import NotFound, ServiceError

from . import services
from .config import ConfigError
from .models import ModelVersion, TrainingJob


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "status",
            "progress",
            "config",
            "metrics",
            "device",
            "started_at",
            "finished_at",
            "error",
            "kind",
            "decision",
            "created_at",
            "history",
        ]


class ModelVersionSerializer(serializers.ModelSerializer):
    is_partner = serializers.SerializerMethodField()
    curves_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "arch",
            "config",
            "metrics",
            "is_partner",
            "curves_url",
            "job",
            "created_at",
            "n_maps_at_training",
        ]

    def get_is_partner(self, version) -> bool:
        return version.is_partner

    def get_curves_url(self, version) -> str | None:
        if not version.curves:
            return None
        return self.context["request"].build_absolute_uri(default_storage.url(version.curves))


class Jobs(generics.ListAPIView):
    serializer_class = JobSerializer
    pagination_class = ResearchPagination

    def get_queryset(self):
        return TrainingJob.objects.all()

    @extend_schema(
        request=inline_serializer("JobRequest", {"config": serializers.DictField()}),
        responses={
            202: inline_serializer("JobQueued", {"id": serializers.UUIDField(), "status": serializers.CharField()})
        },
    )
    def post(self, request):
        if not isinstance(request.data, dict) or "config" not in request.data:
            raise ServiceError("config: this field is required", "invalid_config")
        try:
            job = services.job_submit(request.data["config"], user=request.user)
        except ConfigError as error:
            raise ServiceError(str(error), "invalid_config") from error
        return Response({"id": str(job.id), "status": job.status}, status=status.HTTP_202_ACCEPTED)


def _job(pk):
    job = TrainingJob.objects.filter(pk=pk).first()
    if job is None:
        raise NotFound("no such training job", "not_found")
    return job


class JobDetail(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request, pk):
        return Response(JobSerializer(_job(pk)).data)


class JobCancel(APIView):
    @extend_schema(request=None, responses={202: JobSerializer})
    def post(self, request, pk):
        return Response(JobSerializer(services.job_cancel(_job(pk))).data, status=status.HTTP_202_ACCEPTED)


class Models(generics.ListAPIView):
    serializer_class = ModelVersionSerializer
    pagination_class = ResearchPagination

    def get_queryset(self):
        return ModelVersion.objects.select_related("partner")


class ModelPromote(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None, responses={200: ModelVersionSerializer, 404: OpenApiResponse(description="no such model")}
    )
    def post(self, request, pk):
        version = ModelVersion.objects.filter(pk=pk).first()
        if version is None:
            raise NotFound("no such model", "not_found")
        try:
            version = services.model_promote(version)
        except (ValueError, OSError) as error:
            raise ServiceError(f"cannot promote: {error}", "not_promotable", status.HTTP_409_CONFLICT) from error
        return Response(ModelVersionSerializer(version, context={"request": request}).data)
