"""The pages: the game and the leaderboard (their logic is in static ES modules)."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

PAGE_SETTINGS = ("TIME_LIMIT_MS", "BUBBLE_SIZE_PX", "MAX_CLICKS", "MAX_CLICKS_PER_POST", "IMAGE_SIZE_PX")


@ensure_csrf_cookie
def game_page(request):
    # Only what the page needs: settings.CLICKME also holds the IP hash salt.
    return render(request, "frontend/game.html", {"clickme": {k: settings.CLICKME[k] for k in PAGE_SETTINGS}})


@ensure_csrf_cookie
def leaderboard_page(request):
    return render(request, "frontend/leaderboard.html")


@staff_member_required
def dashboard_page(request):
    from .monitoring import dashboard_figures

    return render(request, "frontend/dashboard.html", {"figures": dashboard_figures()})
