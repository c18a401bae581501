from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .errors import ResearchNotFound, api_not_found
from .health import healthz
from .media import media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/game/", include("game.urls")),
    path("api/v1/", include("annotations.urls")),
    path("api/v1/", include("training.urls")),
    path("api/v1/", include("psychophysics.research_urls")),
    path("api/experiments/", include("psychophysics.participant_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^api/v1/.*$", ResearchNotFound.as_view()),
    re_path(r"^api/.*$", api_not_found),
    re_path(r"^media/(?P<path>.*)$", media),
    path("experiments/", include("psychophysics.urls")),
    path("", include("frontend.urls")),
]
