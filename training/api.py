"""Training jobs and the model registry over the research API (docs/API.md "training" and "models" rows).
A researcher sees and cancels only their own jobs (another's is a 404), and sees the models (and training
curves) of their own jobs and of every promoted model; staff see all."""

from uuid import UUID

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.api import ResearchPagination
from clickme_site.errors import NotFound, ServiceError
from clickme_site.media import researcher
from clickme_site.private_files import private_file_response

from . import jobs, registry, selectors
from .config import ConfigError
from .files import curves_name
from .models import ModelVersion, TrainingJob
from .selectors import TrainingDataError


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
        return selectors.jobs_visible_to(user=self.request.user)

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
            job = jobs.job_submit(config=request.data["config"], user=request.user)
        except ConfigError as error:
            raise ServiceError(str(error), "invalid_config") from error
        except TrainingDataError as error:
            raise ServiceError(str(error), "no_validation_split") from error
        return Response({"id": str(job.id), "status": job.status}, status=status.HTTP_202_ACCEPTED)


def _job(request, pk) -> TrainingJob:
    """The job if this user may see it; another researcher's job is as absent as a missing one."""
    job = selectors.job_visible_to(user=request.user, job_id=pk)
    if job is None:
        raise NotFound("no such training job", "not_found")
    return job


class JobDetail(APIView):
    @extend_schema(responses={200: JobSerializer, 404: OpenApiResponse(description="no such job of yours")})
    def get(self, request, pk):
        return Response(JobSerializer(_job(request, pk)).data)


class JobCancel(APIView):
    @extend_schema(
        request=None, responses={202: JobSerializer, 404: OpenApiResponse(description="no such job of yours")}
    )
    def post(self, request, pk):
        job = jobs.job_cancel(job=_job(request, pk))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class Models(generics.ListAPIView):
    """The models of this researcher's jobs and every promoted model (the game's partners); staff: all."""

    serializer_class = ModelVersionSerializer
    pagination_class = ResearchPagination

    def get_queryset(self):
        return selectors.model_versions_visible_to(user=self.request.user)


@require_safe
def job_curves(request: HttpRequest, job_id: UUID) -> HttpResponseBase:
    """GET /media/training/<job>/curves.png (a model's `curves_url`): to staff, to the job's researcher,
    and to every researcher once a model of the job was promoted; anyone else gets the 404 of a missing file."""
    user = researcher(request)
    if user is None or not selectors.job_curves_visible_to(user=user, job_id=job_id):
        raise Http404("no such file")
    return private_file_response(curves_name(job_id), content_type="image/png")


class ModelPromote(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None, responses={200: ModelVersionSerializer, 404: OpenApiResponse(description="no such model")}
    )
    def post(self, request, pk):
        version = selectors.model_version_get(version_id=pk)
        if version is None:
            raise NotFound("no such model", "not_found")
        try:
            version = registry.model_promote(version=version)
        except ServiceError as error:  # a rule of the game's partners refused it: its message and code
            raise ServiceError(f"cannot promote: {error.detail}", error.code, status.HTTP_409_CONFLICT) from error
        except (ValueError, OSError) as error:
            raise ServiceError(f"cannot promote: {error}", "not_promotable", status.HTTP_409_CONFLICT) from error
        return Response(ModelVersionSerializer(version, context={"request": request}).data)
