"""Import structure: web processes and map workers never load torch; no module imports back into
one that imports it (counting imports inside functions: a lazy import is still an arrow)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["clickme_site", "game", "annotations", "training", "frontend", "psychophysics"]
HEAVY = ["torch", "torchvision", "matplotlib"]


def _in_fresh_python(code: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clickme_site.settings.test", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


LOADED = f"import json, sys; print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"


def test_a_web_process_loads_urls_and_admin_without_torch():
    answer = _in_fresh_python(
        "import django; django.setup()\n"
        "from django.contrib import admin\n"
        "from django.urls import get_resolver, resolve\n"
        "admin.autodiscover()\n"
        "get_resolver().url_patterns\n"
        "for url in ['/', '/admin/', '/api/v1/training/jobs/', '/api/v1/models/', '/api/v1/images/',\n"
        "            '/api/v1/training/jobs/7a1f6a8e-7b0c-4c53-a8c3-0b0f0a0b0c0d/cancel/',\n"
        "            '/api/v1/models/3/promote/', '/api/game/me/', '/api/schema/']:\n"
        "    resolve(url)\n"
        "from django.contrib.admin.sites import site\n"
        "from training.models import ModelVersion, TrainingJob\n"
        "assert TrainingJob in site._registry and ModelVersion in site._registry\n" + LOADED
    )
    assert answer["loaded"] == []


def test_a_worker_of_the_maps_and_celery_queues_imports_every_task_module_without_torch():
    answer = _in_fresh_python(
        "import django; django.setup()\n"
        "from clickme_site.celery import app\n"
        "app.loader.import_default_modules()\n"
        "app.finalize()\n"
        "names = {'annotations.tasks.map_rebuild', 'game.tasks.rounds_expire_stale', "
        "'training.tasks.training_job_run', 'training.tasks.retrain_if_due'}\n"
        "assert names <= set(app.tasks), sorted(app.tasks)\n" + LOADED
    )
    assert answer["loaded"] == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: project modules it imports anywhere in its body}, migrations left out."""
    modules = {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets |= {
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                }
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_sees_a_lazy_import_back():
    assert import_cycles({"a.services": {"a.tasks"}, "a.tasks": {"a.services"}, "a.api": {"a.tasks"}}) == [
        ["a.services", "a.tasks"]
    ]


def test_no_project_module_imports_back_into_one_that_imports_it():
    graph = import_graph()
    assert {"training.jobs", "training.tasks", "annotations.services", "annotations.tasks"} <= set(graph)
    assert "training.jobs" in graph["training.tasks"]  # `from . import jobs` is read as an arrow
    assert import_cycles(graph) == []
