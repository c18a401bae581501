"""The researchers' experiment API under /api/v1/experiments/."""

from django.urls import path

from . import research_api

urlpatterns = [
    path("experiments/", research_api.ExperimentList.as_view(), name="experiments"),
    path("experiments/<slug:slug>/", research_api.ExperimentDetail.as_view(), name="experiment"),
    path("experiments/<slug:slug>/results/", research_api.ResultsView.as_view(), name="experiment-results"),
    path("experiments/<slug:slug>/results.png", research_api.ResultsPng.as_view(), name="experiment-results-png"),
    path("experiments/<slug:slug>/trials/", research_api.TrialsStream.as_view(), name="experiment-trials"),
    path("experiments/<slug:slug>/stimuli/", research_api.StimuliGenerate.as_view(), name="experiment-stimuli"),
    path("experiments/<slug:slug>/observers/", research_api.ObserverList.as_view(), name="experiment-observers"),
    path(
        "experiments/<slug:slug>/observers/<int:run_id>/",
        research_api.ObserverDetail.as_view(),
        name="experiment-observer",
    ),
]
