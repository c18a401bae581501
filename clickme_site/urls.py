from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from frontend.api_docs import RedocView
from training.api import job_curves

from .errors import ResearchNotFound, api_not_found
from .health import healthz, healthz_live
from .media import media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
    path("api/game/", include("game.urls")),
    path("api/v1/", include("annotations.urls")),
    path("api/v1/", include("training.urls")),
    path("api/v1/", include("psychophysics.research_urls")),
    path("api/experiments/", include("psychophysics.participant_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # API docs served by the site (drf-spectacular-sidecar), their scripts as files (no inline script).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="frontend/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/redoc/", RedocView.as_view(url_name="schema", template_name="frontend/redoc.html"), name="redoc"),
    re_path(r"^api/v1/.*$", ResearchNotFound.as_view()),
    re_path(r"^api/.*$", api_not_found),
    path("media/training/<uuid:job_id>/curves.png", job_curves, name="training-curves"),  # before the media view
    re_path(r"^media/(?P<path>.*)$", media),
    path("experiments/", include("psychophysics.urls")),
    path("", include("frontend.urls")),
]

handler400 = "clickme_site.errors.handler400"
handler403 = "clickme_site.errors.handler403"
handler404 = "clickme_site.errors.handler404"
handler500 = "clickme_site.errors.handler500"
