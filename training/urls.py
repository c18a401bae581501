from django.urls import path

from . import api

urlpatterns = [
    path("training/jobs/", api.Jobs.as_view(), name="training-jobs"),
    path("training/jobs/<uuid:pk>/", api.JobDetail.as_view(), name="training-job"),
    path("training/jobs/<uuid:pk>/cancel/", api.JobCancel.as_view(), name="training-job-cancel"),
    path("models/", api.Models.as_view(), name="models"),
    path("models/<int:pk>/promote/", api.ModelPromote.as_view(), name="model-promote"),
]
