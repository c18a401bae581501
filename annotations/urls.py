from django.urls import path

from . import api

urlpatterns = [
    path("categories/", api.CategoryList.as_view(), name="categories"),
    path("images/", api.ImageList.as_view(), name="images"),
    path("images/<str:pk>/", api.ImageDetail.as_view(), name="image"),
    path("images/<str:pk>/map.npy", api.MapNpy.as_view(), name="map-npy"),
    path("images/<str:pk>/map.png", api.MapPng.as_view(), name="map-png"),
    path("clicks/", api.ClicksStream.as_view(), name="clicks"),
    path("stats/", api.StatsView.as_view(), name="stats"),
    path("exports/", api.ExportCreate.as_view(), name="exports"),
    path("exports/<uuid:pk>/", api.ExportDetail.as_view(), name="export"),
    path("exports/<uuid:pk>/download", api.ExportDownload.as_view(), name="export-download"),
    path("maps/rebuild/", api.MapsRebuild.as_view(), name="maps-rebuild"),
]
