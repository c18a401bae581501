from django.urls import path

from . import api

app_name = "game"
urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("rounds/", api.RoundsView.as_view(), name="rounds"),
    path("rounds/<int:round_id>/clicks/", api.ClicksView.as_view(), name="clicks"),
    path("rounds/<int:round_id>/finish/", api.FinishView.as_view(), name="finish"),
    path("rounds/<int:round_id>/skip/", api.SkipView.as_view(), name="skip"),
    path("leaderboard/", api.LeaderboardView.as_view(), name="leaderboard"),
]
