"""The pages: the game, the leaderboard and the staff dashboard (their logic is in static ES modules)."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie

PAGE_SETTINGS = (
    "TIME_LIMIT_MS",
    "BUBBLE_SIZE_PX",
    "MAX_CLICKS",
    "MAX_CLICKS_PER_POST",
    "IMAGE_SIZE_PX",
    "BRUSH_INTERVAL_MS",
    "BRUSH_MAX_STEP_PX",
    "POST_EVERY_CLICKS",
)


@ensure_csrf_cookie
def game_page(request: HttpRequest) -> HttpResponse:
    # Only what the page needs: settings.CLICKME also holds the IP hash salt.
    clickme = {k: settings.CLICKME[k] for k in PAGE_SETTINGS}
    return render(request, "frontend/game.html", {"clickme": clickme, "time_limit_s": clickme["TIME_LIMIT_MS"] / 1000})


@ensure_csrf_cookie
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/leaderboard.html")


@staff_member_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    from .monitoring import dashboard_figures, dashboard_series

    now = timezone.now()
    context = {"figures": dashboard_figures(now), "series": dashboard_series(now)}
    return render(request, "frontend/dashboard.html", context)
