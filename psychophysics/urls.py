"""Pages: /experiments/<slug>/ (participants) and /experiments/<slug>/results/ (researchers)."""

from django.urls import path

from . import views

app_name = "psychophysics"
urlpatterns = [
    path("<slug:slug>/", views.experiment_page, name="experiment"),
    path("<slug:slug>/results/", views.results_page, name="results"),
    path("<slug:slug>/results/stimuli/<int:stimulus_id>.png", views.stimulus_file, name="stimulus-file"),
]
