"""The pages: the game and the leaderboard (their logic is in static ES modules)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
def game_page(request):
    return render(request, "frontend/game.html", {"clickme": settings.CLICKME})


@ensure_csrf_cookie
def leaderboard_page(request):
    return render(request, "frontend/leaderboard.html")
