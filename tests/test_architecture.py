"""STYLE.md's one-way arrows between the apps, and the pure cores (numpy/torch, no Django): every
module of an app is classified as one or the other, so a new module cannot slip past both rules."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_import_structure import PACKAGES, ROOT, _module_name, import_graph

APPS = ["game", "annotations", "training", "psychophysics", "frontend"]

# The science and the runtimes around it: numpy, torch, PIL, scipy; never Django (nor the project's
# Django modules). Tested on their own, fast, with arrays.
PURE_CORES = {
    "annotations.benchmark_report",
    "annotations.heatmap",
    "annotations.map_encoding",
    "annotations.maps",
    "annotations.npz_stream",
    "annotations.saliency",
    "game.click_rules",
    "game.images",
    "game.imagenet_labels",
    "game.nicknames",
    "game.pretrained",
    "game.sample_photos",
    "game.validity",
    "game.win_rule",
    "game.partner",
    "game.playability",
    "game.promotion_rule",
    "game.reveal",
    "game.round_quality",
    "game.simulated_players",
    "game.simulation",
    "game.synthetic_benchmark",
    "psychophysics.analysis",
    "psychophysics.design",
    "psychophysics.plots",
    "psychophysics.stimuli",
    "psychophysics.two_way_choice",
    "training.allocator",
    "training.checkpoints",
    "training.config",
    "training.datasets",
    "training.demo_partner",
    "training.experiments",
    "training.experiments.gala_settings_doc",
    "training.experiments.figures",
    "training.experiments.protocol",
    "training.losses",
    "training.metrics",
    "training.nets",
    "training.nets.gala",
    "training.nets.local_fcn",
    "training.nets.resnets",
    "training.partner_export",
    "training.plots",
    "training.trainer",
}

# The Django layer around the cores (models, services, selectors, APIs, tasks and their plumbing).
DJANGO_LAYER_NAMES = {
    "admin", "api", "apps", "experiments", "files", "filters", "importing", "job_execution", "jobs",
    "click_post", "guesses_writer", "models", "moderation", "monitoring", "observers", "open_rounds", "partner_play", "partner_validity", "played_benchmark", "report",
    "simulated_crowd", "synthetic_benchmark", "participant_urls", "partner_registry", "queueing",
    "receivers", "registry", "screening", "research_api", "research_urls", "scheduling", "selectors", "services", "signals",
    "simulated_participants", "static_storage", "stimulus_generation", "stimulus_inputs", "tasks", "urls",
    "views", "api_docs",
}  # fmt: skip

# Which app may import which (STYLE.md: annotations reads game, training reads both, game reads
# neither; psychophysics may read game, annotations and training, and nothing reads it; frontend
# draws the three apps of the game).
# clickme_site (settings, urls, errors, celery) is shared by all and composes them.
ALLOWED = {
    "game": {"clickme_site"},
    "annotations": {"game", "clickme_site"},
    "training": {"game", "annotations", "clickme_site"},
    "psychophysics": {"game", "annotations", "training", "clickme_site"},
    "frontend": {"game", "annotations", "training", "clickme_site"},
}


def module_path(module):
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def app_modules(app):
    return sorted(
        _module_name(path) for path in (ROOT / app).rglob("*.py") if "migrations" not in path.relative_to(ROOT).parts
    )


def arrows_between_apps():
    """{(importer app, imported app): ["module -> module", ...]} over every import, lazy ones included."""
    arrows = {}
    for module, targets in import_graph().items():
        for target in targets:
            pair = (module.split(".")[0], target.split(".")[0])
            if pair[0] != pair[1]:
                arrows.setdefault(pair, []).append(f"{module} -> {target}")
    return arrows


def test_the_import_graph_covers_every_app():
    assert set(APPS) | {"clickme_site"} <= set(PACKAGES)


def test_game_imports_neither_annotations_nor_training_nor_psychophysics():
    arrows = arrows_between_apps()
    assert [arrows.get(("game", other)) for other in ("annotations", "training", "psychophysics", "frontend")] == [
        None
    ] * 4


def test_annotations_does_not_import_training_or_psychophysics():
    arrows = arrows_between_apps()
    assert [arrows.get(("annotations", other)) for other in ("training", "psychophysics", "frontend")] == [None] * 3


def test_nothing_imports_psychophysics():
    assert sorted(pair for pair in arrows_between_apps() if pair[1] == "psychophysics") == []


def test_every_arrow_between_apps_is_an_allowed_one():
    forbidden = {
        pair: modules
        for pair, modules in arrows_between_apps().items()
        if pair[0] in ALLOWED and pair[1] not in ALLOWED[pair[0]]
    }
    assert forbidden == {}


def test_clickme_site_imports_no_app_but_in_its_urlconf():
    """clickme_site is the plumbing every app may use (settings, celery, publishing, errors, files):
    only the URLconf, which composes the apps, imports one; the settings name them as strings."""
    reaching = [
        arrow
        for (importer, imported), arrows in arrows_between_apps().items()
        if importer == "clickme_site" and imported in APPS
        for arrow in arrows
    ]
    assert [arrow for arrow in reaching if not arrow.startswith("clickme_site.urls -> ")] == []


def test_tasks_are_published_only_from_the_queueing_modules():
    """Each app queues its Celery tasks from its `queueing` module (by name, so nothing imports a
    tasks module back), and `clickme_site.publishing` (send after commit, the unsent-work sweeps) is
    used from those modules only; no other module calls send_task, delay or apply_async."""
    graph = import_graph()
    importers = sorted(module for module, targets in graph.items() if "clickme_site.publishing" in targets)
    assert importers and all(module.endswith(".queueing") for module in importers), importers
    senders = sorted(
        (module, node.func.attr)
        for module in graph
        for node in ast.walk(ast.parse(module_path(module).read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"send_task", "delay", "apply_async"}
        and not module.endswith(".queueing")
        and module != "clickme_site.publishing"
    )
    assert senders == []


def test_the_rules_see_a_real_arrow():
    """Guard against a graph that reads nothing: the arrows STYLE.md expects are there."""
    arrows = arrows_between_apps()
    assert ("training", "annotations") in arrows and ("annotations", "game") in arrows
    assert "psychophysics.stimuli -> annotations.saliency" in arrows[("psychophysics", "annotations")]


def test_every_module_of_an_app_is_a_pure_core_or_in_the_django_layer():
    unclassified = [
        module
        for app in APPS
        for module in app_modules(app)
        if module not in PURE_CORES
        and module.rsplit(".", 1)[-1] not in DJANGO_LAYER_NAMES
        and module != app
        and ".management" not in f".{module.partition('.')[2]}"
    ]
    assert unclassified == []
    assert PURE_CORES <= {module for app in APPS for module in app_modules(app)}  # no stale names


def test_pure_cores_import_only_pure_cores_of_the_project():
    graph = import_graph()
    offenders = sorted((core, target) for core in PURE_CORES for target in graph[core] if target not in PURE_CORES)
    assert offenders == []


def test_pure_cores_load_without_django():
    """Every pure core imported in a fresh interpreter with no settings: Django is never loaded."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {sorted(PURE_CORES)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'rest_framework', 'celery', 'clickme_site', 'drf_spectacular'})))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_pure_core_list_names_the_science_of_style_md():
    style = {"annotations.maps", "training.nets", "training.losses", "training.metrics"}
    assert style <= PURE_CORES and Path(ROOT / "training/nets").is_dir()


def test_selectors_never_import_services():
    """Reads do not depend on writes (HackSoft): a selectors module imports no services module."""
    graph = import_graph()
    offenders = sorted(
        (module, target)
        for module, targets in graph.items()
        if module.endswith(".selectors")
        for target in targets
        if target.endswith(".services")
    )
    assert offenders == []
