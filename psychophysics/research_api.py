"""The researchers' API for experiments (token auth, under /api/v1/experiments/): configuration,
results (JSON and PNG), trials as JSON Lines, stimulus generation and model observers."""

import json

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.api import ResearchPagination
from clickme_site.errors import NotFound
from game.models import Partner

from . import analysis, observers, plots, selectors
from .api import StrictSerializer
from .models import ObserverRun, Trial
from .stimulus_generation import stimuli_request


def _experiment(slug):
    return selectors.experiment_by_slug(slug, include_drafts=True)


class ExperimentSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    url = serializers.SerializerMethodField()
    choices = serializers.SerializerMethodField()
    feature_sources = serializers.ListField(child=serializers.CharField())
    reveal_levels = serializers.ListField(child=serializers.IntegerField())
    fixation_ms = serializers.IntegerField()
    stimulus_ms = serializers.IntegerField()
    mask_ms = serializers.IntegerField()
    response_window_ms = serializers.IntegerField()
    n_trials = serializers.IntegerField()
    n_practice = serializers.IntegerField()
    n_images = serializers.SerializerMethodField()
    stimuli_state = serializers.CharField()
    stimuli_error = serializers.CharField()
    n_participants = serializers.IntegerField()
    n_completed = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_url(self, experiment) -> str:
        return self.context["request"].build_absolute_uri(f"/experiments/{experiment.slug}/")

    def get_choices(self, experiment) -> list[dict]:
        return [
            {"label": experiment.choice_a_label, "key": experiment.choice_a_key,
             "categories": sorted(experiment.choice_a_categories.values_list("id", flat=True))},
            {"label": experiment.choice_b_label, "key": experiment.choice_b_key,
             "categories": sorted(experiment.choice_b_categories.values_list("id", flat=True)) or None},
        ]  # fmt: skip

    def get_n_images(self, experiment) -> int:
        return experiment.images.count()


class ExperimentList(generics.ListAPIView):
    serializer_class = ExperimentSerializer
    pagination_class = ResearchPagination

    def get_queryset(self):
        return selectors.experiments_with_counts()


class ExperimentDetail(APIView):
    @extend_schema(responses=ExperimentSerializer)
    def get(self, request, slug):
        experiment = selectors.experiments_with_counts().filter(slug=slug).first()
        if experiment is None:
            raise NotFound("no such experiment", "not_found")
        return Response(ExperimentSerializer(experiment, context={"request": request}).data)


class ResultsQuery(serializers.Serializer):
    n_boot = serializers.IntegerField(min_value=100, max_value=20000, required=False)


def _results(request, slug):
    query = ResultsQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    n_boot = query.validated_data.get("n_boot", settings.CLICKME_PSYCHOPHYSICS["N_BOOT"])
    return selectors.experiment_results(_experiment(slug), n_boot=n_boot)


class ResultsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("n_boot", int, description=f"bootstrap draws (default {analysis.DEFAULT_N_BOOT})")
        ],
        responses=inline_serializer(
            "ExperimentResults",
            {
                "experiment": serializers.CharField(),
                "sources": serializers.ListField(child=serializers.CharField()),
                "levels": serializers.ListField(child=serializers.IntegerField()),
                "chance": serializers.FloatField(),
                "n_boot": serializers.IntegerField(),
                "humans": serializers.DictField(),
                "observers": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="Accuracy against reveal level per feature source, with bootstrap 95% intervals",
    )
    def get(self, request, slug):
        return Response(_results(request, slug))


class ResultsPng(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("n_boot", int)],
        responses={(200, "image/png"): OpenApiTypes.BINARY},
        summary="The results as a figure",
    )
    def get(self, request, slug):
        results = _results(request, slug)
        return HttpResponse(plots.results_png(results, results["title"]), content_type="image/png")


class TrialsStream(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("phase", enum=[p for p, _ in Trial.Phase.choices])],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        summary="Every stored trial as JSON Lines",
    )
    def get(self, request, slug):
        phase = request.query_params.get("phase")
        if phase is not None and phase not in Trial.Phase.values:
            raise serializers.ValidationError({"phase": f"one of {Trial.Phase.values}"})
        rows = selectors.trials_export(_experiment(slug), phase=phase)
        lines = (json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{slug}-trials.jsonl"'
        return response


class StimuliGenerate(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={202: inline_serializer("StimuliQueued", {"stimuli_state": serializers.CharField()})},
        summary="Staff: (re)generate the stimuli (refused once anyone has joined)",
    )
    def post(self, request, slug):
        experiment = stimuli_request(experiment=_experiment(slug))
        return Response({"stimuli_state": experiment.stimuli_state}, status=status.HTTP_202_ACCEPTED)


class ObserverRequest(StrictSerializer):
    partner = serializers.IntegerField(min_value=1)


class ObserverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    partner = serializers.CharField(source="partner_name")
    partner_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    n_stimuli = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ObserverList(APIView):
    @extend_schema(responses=ObserverSerializer(many=True), summary="The experiment's model observers")
    def get(self, request, slug):
        runs = _experiment(slug).observer_runs.order_by("created_at")
        return Response(ObserverSerializer(runs, many=True).data)

    @extend_schema(
        request=ObserverRequest,
        responses={
            202: inline_serializer(
                "ObserverQueued", {"id": serializers.IntegerField(), "status": serializers.CharField()}
            )
        },
        summary="Run a registered network on the experiment's stimuli (a worker does it)",
    )
    def post(self, request, slug):
        experiment = _experiment(slug)
        body = ObserverRequest(data=request.data)
        body.is_valid(raise_exception=True)
        partner = Partner.objects.filter(pk=body.validated_data["partner"]).first()
        if partner is None:
            raise NotFound("no such partner", "not_found")
        run = observers.observer_request(experiment=experiment, partner=partner, user=request.user)
        return Response({"id": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)


class ObserverDetail(APIView):
    @extend_schema(responses=ObserverSerializer, parameters=[OpenApiParameter("run_id", int, OpenApiParameter.PATH)])
    def get(self, request, slug, run_id):
        run = ObserverRun.objects.filter(experiment=_experiment(slug), pk=run_id).first()
        if run is None:
            raise NotFound("no such observer run", "not_found")
        return Response(ObserverSerializer(run).data)
