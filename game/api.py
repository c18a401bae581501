"""The players' JSON API (docs/API.md "Players"): thin views that parse, call a service and serialise."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clickme_site.errors import NotFound, ServiceError

from . import click_post, selectors, services
from .click_rules import ClickRejected, stored_count_valid
from .models import Round


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _no_view(request: HttpRequest) -> HttpResponse:
    """The view CsrfViewMiddleware is given to check against: never called (and not csrf_exempt)."""
    return HttpResponse(status=204)


_csrf_check = _CsrfCheck(_no_view)


class PlayerSessionAuthentication(BaseAuthentication):
    """Players are anonymous, so DRF's SessionAuthentication would skip CSRF; this enforces it."""

    def authenticate(self, request):
        check = _csrf_check
        check.process_request(request)
        reason = check.process_view(request, _no_view, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF failed: {reason}")
        return None


class PlayerView(APIView):
    authentication_classes = [PlayerSessionAuthentication]
    permission_classes = [AllowAny]

    def player(self):
        """The session's player, created on first sight: only for a round start or a change to it."""
        return services.player_for_session(session=self.request.session, ip=self.request.META.get("REMOTE_ADDR", ""))

    def existing_player(self):
        """The session's player; 404 when the session has none (nothing is created)."""
        player = selectors.session_player(session=self.request.session)
        if player is None:
            raise NotFound("no such round", "not_found")
        return player


class MeSerializer(serializers.Serializer):
    player_id = serializers.UUIDField(allow_null=True, help_text="null until the visitor starts a round or sets a name")
    nickname = serializers.CharField()
    total_score = serializers.IntegerField()
    rounds_played = serializers.IntegerField()
    rounds_won = serializers.IntegerField()
    rounds_skipped = serializers.IntegerField()
    consented = serializers.BooleanField()


def _me(player):
    if player is None:  # a visitor who has not played yet: nothing is stored for them
        return {
            "player_id": None,
            "nickname": "",
            **{key: 0 for key in ("total_score", "rounds_played", "rounds_won", "rounds_skipped")},
            "consented": False,
        }
    return {
        "player_id": str(player.public_id),
        "nickname": player.nickname,
        **selectors.player_totals(player=player),
        "consented": player.consented_at is not None,
    }


class MeView(PlayerView):
    @extend_schema(responses=MeSerializer, summary="The current player (a GET creates nothing)")
    def get(self, request):
        return Response(_me(selectors.session_player(session=request.session)))

    @extend_schema(
        request=inline_serializer(
            "MeUpdate", {"nickname": serializers.CharField(), "consented": serializers.BooleanField()}
        ),
        responses=MeSerializer,
        summary="Set the nickname (and record consent)",
    )
    def patch(self, request):
        if not isinstance(request.data, dict) or not ({"nickname", "consented"} & set(request.data)):
            raise ServiceError("nickname: this field is required", "invalid_nickname")
        services.player_changes_clean(request.data)  # a refused change creates no player
        player = services.player_update(player=self.player(), changes=request.data)
        return Response(_me(player))


class RoundStartSerializer(serializers.Serializer):
    screen = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=100000), min_length=2, max_length=2, required=False
    )


class RoundSerializer(serializers.Serializer):
    round_id = serializers.IntegerField()
    image_id = serializers.IntegerField()
    image_url = serializers.CharField()
    image_size = serializers.ListField(child=serializers.IntegerField())
    category = inline_serializer("RoundCategory", {"id": serializers.IntegerField(), "name": serializers.CharField()})
    time_limit_ms = serializers.IntegerField()
    bubble_size_px = serializers.IntegerField()
    max_clicks = serializers.IntegerField()
    max_clicks_per_post = serializers.IntegerField()
    started_at = serializers.DateTimeField()


class RoundsView(PlayerView):
    @extend_schema(request=RoundStartSerializer, responses={201: RoundSerializer}, summary="Start a round")
    def post(self, request):
        body = RoundStartSerializer(data=request.data if isinstance(request.data, dict) else None)
        body.is_valid(raise_exception=True)
        screen = body.validated_data.get("screen") or (None, None)
        round_ = services.round_start(
            player=self.player(),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            screen_width=screen[0],
            screen_height=screen[1],
        )
        image = round_.image
        data = {
            "round_id": round_.pk,
            "image_id": image.pk,
            "image_url": request.build_absolute_uri(image.file.url) if image.file else "",
            "image_size": [image.width, image.height],
            "category": {"id": image.category_id, "name": image.category.name},
            "time_limit_ms": round_.time_limit_ms,
            "bubble_size_px": services.game_setting("BUBBLE_SIZE_PX"),
            "max_clicks": services.game_setting("MAX_CLICKS"),
            "max_clicks_per_post": services.game_setting("MAX_CLICKS_PER_POST"),
            "started_at": round_.started_at,
        }
        return Response(RoundSerializer(data).data, status=status.HTTP_201_CREATED)


class GuessSerializer(serializers.Serializer):
    category_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    probability = serializers.FloatField()


class ClicksAnswerSerializer(serializers.Serializer):
    guesses = GuessSerializer(many=True)
    recognized = serializers.BooleanField()
    state = serializers.ChoiceField(choices=Round.State.choices)
    score = serializers.IntegerField()
    n_stored = serializers.IntegerField(help_text="how many clicks the round holds after this post")


class AnswerThenWrite(Response):
    """A response that runs `after` when the WSGI server closes it, which it does once the response is
    sent: the player does not wait for writes the answer does not depend on (they log their own errors)."""

    def __init__(self, data: Any, *, after: list[Callable[[], None]]) -> None:
        super().__init__(data)
        self.after = after

    def close(self) -> None:
        try:
            for work in self.after:
                work()
        finally:
            super().close()  # then Django's request_finished (which closes old database connections)


class ClicksView(PlayerView):
    @extend_schema(
        request=inline_serializer(
            "ClicksPost",
            {
                "clicks": serializers.ListField(child=serializers.ListField(child=serializers.IntegerField())),
                "n_stored": serializers.IntegerField(
                    required=False,
                    min_value=0,
                    help_text="how many of the round's clicks the page believes stored before this post",
                ),
            },
        ),
        responses={
            200: ClicksAnswerSerializer,
            409: OpenApiResponse(
                description="round_closed: the round is not open (or its time is up); stored_clicks_differ: the"
                " round holds more clicks than n_stored and this post does not repeat them, or fewer"
            ),
        },
        summary="Post the clicks made since the last post; the partner answers",
    )
    def post(self, request, round_id):
        if not isinstance(request.data, dict) or "clicks" not in request.data:
            raise ServiceError("clicks: this field is required", "invalid")
        try:
            n_stored = stored_count_valid(request.data.get("n_stored"))
        except ClickRejected as error:
            raise ServiceError(str(error), error.code) from error
        after_answer: list[Callable[[], None]] = []
        round_, guesses, recognized = click_post.clicks_record_for_session(
            session=self.request.session,
            round_id=round_id,
            raw_clicks=request.data["clicks"],
            n_stored=n_stored,
            after_answer=after_answer.append,
        )
        answer = {
            "guesses": guesses,
            "recognized": recognized,
            "state": round_.state,
            "score": round_.score,
            "n_stored": round_.n_clicks,
        }
        return AnswerThenWrite(answer, after=after_answer)


class FinishAnswerSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Round.State.choices)
    score = serializers.IntegerField()
    total_score = serializers.IntegerField()


class FinishView(PlayerView):
    @extend_schema(request=None, responses=FinishAnswerSerializer, summary="End an open round (time out or give up)")
    def post(self, request, round_id):
        player = self.existing_player()
        round_ = services.round_finish(player=player, round_id=round_id)
        totals = selectors.player_totals(player=player)
        return Response({"state": round_.state, "score": round_.score, "total_score": totals["total_score"]})


class SkipAnswerSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Round.State.choices, help_text='always "skipped"')
    score = serializers.IntegerField()
    total_score = serializers.IntegerField()


class SkipView(PlayerView):
    @extend_schema(
        request=None,
        responses={
            200: SkipAnswerSerializer,
            404: OpenApiResponse(description="not_found: no such round of this player"),
            409: OpenApiResponse(description="round_closed: the round is not open (or its time is up)"),
        },
        summary="Skip the image: the round ends unscored, is never used in a map, and the image never comes back",
    )
    def post(self, request, round_id):
        player = self.existing_player()
        round_ = services.round_skip(player=player, round_id=round_id)
        totals = selectors.player_totals(player=player)
        return Response({"state": round_.state, "score": round_.score, "total_score": totals["total_score"]})


class LeaderboardQuery(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(selectors.LEADERBOARD_PERIODS), default="day")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.CharField()
    entries = inline_serializer(
        "LeaderboardEntry",
        {
            "rank": serializers.IntegerField(),
            "nickname": serializers.CharField(),
            "score": serializers.IntegerField(),
            "rounds_won": serializers.IntegerField(),
            "is_me": serializers.BooleanField(help_text="the row of the player of this session"),
        },
        many=True,
    )


class LeaderboardView(PlayerView):
    @extend_schema(
        parameters=[
            OpenApiParameter("period", enum=list(selectors.LEADERBOARD_PERIODS)),
            OpenApiParameter("limit", int),
        ],
        responses=LeaderboardSerializer,
        summary="The leaderboard of a period",
    )
    def get(self, request):
        query = LeaderboardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        period, limit = query.validated_data["period"], query.validated_data["limit"]
        me = request.session.get(selectors.SESSION_PLAYER_KEY)
        return Response(
            {"period": period, "entries": selectors.leaderboard(period=period, limit=limit, me_player_id=me)}
        )


class PlayerSessionScheme(OpenApiAuthenticationExtension):
    """Documents the players' session cookie (with CSRF) in the OpenAPI schema."""

    target_class = PlayerSessionAuthentication
    name = "playerSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
