"""The participants' JSON API (session cookie, CSRF): thin views that parse, call a service and serialise."""

import math

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clickme_site.errors import NotFound, ServiceError
from game.api import PlayerSessionAuthentication

from . import selectors, services
from .files import stored_path
from .models import Trial

MAX_TIMING_ENTRIES = 24


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming the first one."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": "expected a JSON object"})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: "unknown key"})
        return super().to_internal_value(data)


class JoinSerializer(StrictSerializer):
    consent = serializers.BooleanField()
    platform = serializers.ChoiceField(choices=list(services.PLATFORMS), required=False)
    external_id = serializers.RegexField(r"^[A-Za-z0-9_.:\-]{1,128}$", required=False)
    screen = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=100000), min_length=2, max_length=2, required=False
    )
    device_pixel_ratio = serializers.FloatField(min_value=0.1, max_value=16, required=False)
    resume_code = serializers.RegexField(r"^[A-Za-z0-9 \-]{1,32}$", required=False)


class AnswerSerializer(StrictSerializer):
    key = serializers.CharField(allow_null=True, allow_blank=True, max_length=32, trim_whitespace=False)
    rt_ms = serializers.FloatField(allow_null=True)
    requested_frames = serializers.IntegerField(min_value=1, max_value=1000)
    shown_frames = serializers.IntegerField(min_value=1, max_value=1000)
    shown_stimulus_ms = serializers.FloatField(min_value=0, max_value=60000)
    frame_interval_ms = serializers.FloatField(min_value=1, max_value=1000)
    timing = serializers.DictField(required=False)

    def validate_timing(self, value):
        if len(value) > MAX_TIMING_ENTRIES:
            raise serializers.ValidationError(f"at most {MAX_TIMING_ENTRIES} entries")
        for name, entry in value.items():
            if len(name) > 40 or not (
                entry is None or isinstance(entry, bool) or (isinstance(entry, int | float) and math.isfinite(entry))
            ):
                raise serializers.ValidationError(f"{name[:40]}: numbers, booleans or null only")
        return value


class TrialRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    index = serializers.IntegerField()
    phase = serializers.ChoiceField(choices=Trial.Phase.choices)
    stimulus_url = serializers.CharField()
    mask_url = serializers.CharField()


class StateSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    phase = serializers.ChoiceField(choices=["practice", "main", "completed"])
    n_practice = serializers.IntegerField()
    n_main = serializers.IntegerField()
    practice_done = serializers.IntegerField()
    main_done = serializers.IntegerField()
    trials = TrialRefSerializer(many=True)
    completion_code = serializers.CharField(allow_null=True)
    completion_url = serializers.CharField(allow_null=True)
    resume_code = serializers.CharField(
        allow_null=True,
        help_text="a crowd participant's code to resume in another browser (shown only here); null without a crowd id",
    )


class ParticipantView(APIView):
    authentication_classes = [PlayerSessionAuthentication]
    permission_classes = [AllowAny]

    def experiment(self, slug):
        return selectors.experiment_by_slug(slug)

    def participant(self, experiment):
        participant = selectors.participant_of_session(self.request.session, experiment)
        if participant is None:
            raise NotFound("this browser has not joined the experiment", "not_joined")
        return participant


class ExperimentView(ParticipantView):
    @extend_schema(
        responses=inline_serializer(
            "ExperimentPublic",
            {
                "slug": serializers.CharField(),
                "title": serializers.CharField(),
                "status": serializers.CharField(),
                "choices": serializers.ListField(child=serializers.DictField()),
                "stimulus_ms": serializers.IntegerField(),
                "participant": StateSerializer(allow_null=True),
            },
        ),
        summary="The experiment as its participants see it, and this browser's state in it",
    )
    def get(self, request, slug):
        experiment = self.experiment(slug)
        participant = selectors.participant_of_session(request.session, experiment)
        state = selectors.participant_state(participant, experiment) if participant else None
        return Response({**selectors.experiment_public(experiment), "participant": state})


class JoinView(ParticipantView):
    @extend_schema(responses=StateSerializer, summary="This browser's state in the experiment")
    def get(self, request, slug):
        experiment = self.experiment(slug)
        return Response(selectors.participant_state(self.participant(experiment), experiment))

    @extend_schema(
        request=JoinSerializer,
        responses={201: StateSerializer, 200: StateSerializer},
        summary=(
            "Join after consent (a second call resumes; a crowd id resumes in another browser only with the resume"
            " code shown in the first; a finished crowd id cannot join again)"
        ),
    )
    def post(self, request, slug):
        experiment = self.experiment(slug)
        body = JoinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        screen = data.get("screen") or (None, None)
        participant, created = services.participant_join(
            experiment=experiment,
            session=request.session,
            consent=data["consent"],
            platform=data.get("platform", ""),
            external_id=data.get("external_id", ""),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            screen_width=screen[0],
            screen_height=screen[1],
            device_pixel_ratio=data.get("device_pixel_ratio"),
            resume_code=data.get("resume_code", ""),
        )
        return Response(
            selectors.participant_state(participant, experiment),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _trial_id(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise NotFound("no such trial for this participant", "not_found") from None


class AnswerView(ParticipantView):
    @extend_schema(
        request=AnswerSerializer,
        responses=inline_serializer(
            "TrialAnswered",
            {
                "trial": inline_serializer(
                    "TrialFeedback",
                    {
                        "id": serializers.IntegerField(),
                        "index": serializers.IntegerField(),
                        "phase": serializers.CharField(),
                        "correct": serializers.BooleanField(allow_null=True),
                        "correct_label": serializers.CharField(allow_null=True),
                    },
                ),
                "state": StateSerializer(),
            },
        ),
        summary="Store the answer of the participant's next trial (feedback on practice trials only)",
    )
    def post(self, request, slug, trial_id):
        experiment = self.experiment(slug)
        participant = self.participant(experiment)
        body = AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        answer = services.TrialAnswer(
            key=data["key"],
            rt_ms=data["rt_ms"],
            requested_frames=data["requested_frames"],
            shown_frames=data["shown_frames"],
            shown_stimulus_ms=data["shown_stimulus_ms"],
            frame_interval_ms=data["frame_interval_ms"],
            timing=data.get("timing", {}),
        )
        trial, participant = services.trial_answer(
            participant_id=participant.pk, trial_id=_trial_id(trial_id), answer=answer
        )
        practice = trial.phase == Trial.Phase.PRACTICE
        labels = {
            experiment.choice_a_key: experiment.choice_a_label,
            experiment.choice_b_key: experiment.choice_b_label,
        }
        feedback = {
            "id": trial.pk,
            "index": trial.index,
            "phase": trial.phase,
            "correct": trial.is_correct if practice else None,
            "correct_label": labels[trial.correct_key] if practice else None,
        }
        return Response({"trial": feedback, "state": selectors.participant_state(participant, experiment)})


class TrialFileView(ParticipantView):
    which = "stimulus"

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY}, summary="A trial's stimulus or mask")
    def get(self, request, slug, trial_id):
        experiment = self.experiment(slug)
        participant = self.participant(experiment)
        stimulus, mask = selectors.trial_files(participant_id=participant.pk, trial_id=_trial_id(trial_id))
        path = stored_path(stimulus if self.which == "stimulus" else mask)
        if not path.is_file():
            raise ServiceError("the stimulus file is missing on the server", "file_missing", status.HTTP_410_GONE)
        response = FileResponse(open(path, "rb"), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"
        return response
