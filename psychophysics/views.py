"""The pages: the participant's experiment page and the researchers' results page (no inline scripts:
data reaches the page's ES module through json_script)."""

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.csrf import ensure_csrf_cookie

from clickme_site.errors import NotFound

from . import selectors
from .files import stored_path
from .models import Experiment, Stimulus

RESULTS_PERMISSION = "psychophysics.view_experiment"


def _researcher(user) -> bool:
    return user.is_authenticated and (user.is_staff or user.has_perm(RESULTS_PERMISSION))


@ensure_csrf_cookie
def experiment_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The participant's page; staff may preview a draft (joining still needs it open)."""
    try:
        experiment = selectors.experiment_by_slug(slug, include_drafts=request.user.is_staff)
    except NotFound:
        raise Http404("no such experiment") from None
    participant = selectors.participant_of_session(request.session, experiment)
    api = f"/api/experiments/{experiment.slug}/"
    config = {
        **selectors.experiment_public(experiment),
        "participant": selectors.participant_state(participant, experiment) if participant else None,
        "api": {"experiment": api, "participant": f"{api}participant/", "trials": f"{api}trials/"},
    }
    response = render(request, "psychophysics/experiment.html", {"experiment": experiment, "config": config})
    response["Cache-Control"] = "no-store"
    return response


def _sample_stimuli(experiment: Experiment) -> list[dict]:
    """One main image at every level of every source: what the participants saw."""
    first = experiment.stimuli.filter(image__in=experiment.images.all()).order_by("image_id").first()
    if first is None:
        return []
    rows = []
    for source in experiment.feature_sources:
        cells = experiment.stimuli.filter(image_id=first.image_id, source=source).order_by("level_pct")
        rows.append(
            {
                "source": source,
                "cells": [
                    {"level": s.level_pct, "url": reverse("psychophysics:stimulus-file", args=[experiment.slug, s.pk])}
                    for s in cells
                ],
            }
        )
    return rows


def _human_table(results: dict) -> list[dict]:
    humans = results["humans"]
    difference = humans["difference"]
    return [
        {
            "level": level,
            "cells": [humans["curves"][source][i] for source in results["sources"]],
            "difference": difference["per_level"][i] if difference else None,
        }
        for i, level in enumerate(results["levels"])
    ]


def _observer_rows(results: dict) -> list[dict]:
    rows = []
    for observer in results["observers"]:
        means = []
        for source in results["sources"]:
            values = [r["accuracy"] for r in observer.get("curves", {}).get(source, []) if r["accuracy"] is not None]
            means.append(sum(values) / len(values) if values else None)
        rows.append({**observer, "means": means})
    return rows


@user_passes_test(_researcher, login_url=reverse_lazy("admin:login"))
def results_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        experiment = selectors.experiment_by_slug(slug, include_drafts=True)
    except NotFound:
        raise Http404("no such experiment") from None
    results = selectors.experiment_results(experiment, n_boot=settings.CLICKME_PSYCHOPHYSICS["N_BOOT"])
    api = f"/api/v1/experiments/{experiment.slug}/"
    context = {
        "experiment": experiment,
        "results": results,
        "table": _human_table(results),
        "observers": _observer_rows(results),
        "samples": _sample_stimuli(experiment) if request.user.is_staff else [],
        "links": {"json": f"{api}results/", "png": f"{api}results.png", "trials": f"{api}trials/"},
        "participant_link": request.build_absolute_uri(f"/experiments/{experiment.slug}/"),
    }
    return render(request, "psychophysics/results.html", context)


@user_passes_test(_researcher, login_url=reverse_lazy("admin:login"))
def stimulus_file(request: HttpRequest, slug: str, stimulus_id: int) -> FileResponse:
    """One stimulus PNG of an experiment, for researchers (stimuli live outside every public prefix)."""
    stimulus = get_object_or_404(Stimulus, pk=stimulus_id, experiment__slug=slug)
    path = stored_path(stimulus.file)
    if not path.is_file():
        raise Http404("the stimulus file is missing")
    response = FileResponse(open(path, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
