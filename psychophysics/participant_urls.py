"""The participants' JSON API under /api/experiments/."""

from django.urls import path

from . import api

app_name = "psychophysics-api"
urlpatterns = [
    path("<slug:slug>/", api.ExperimentView.as_view(), name="experiment"),
    path("<slug:slug>/participant/", api.JoinView.as_view(), name="participant"),
    path("<slug:slug>/trials/<str:trial_id>/", api.AnswerView.as_view(), name="answer"),
    path(
        "<slug:slug>/trials/<str:trial_id>/stimulus.png", api.TrialFileView.as_view(which="stimulus"), name="stimulus"
    ),
    path("<slug:slug>/trials/<str:trial_id>/mask.png", api.TrialFileView.as_view(which="mask"), name="mask"),
]
