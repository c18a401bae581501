from django.urls import path

from . import views

app_name = "frontend"
urlpatterns = [
    path("", views.game_page, name="game"),
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
]
