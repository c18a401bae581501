"""Arrows (STYLE.md): psychophysics may read game, annotations and training; nothing reads psychophysics.
Its pure cores import no Django, and no module of it loads torch when imported (web processes)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE_CORES = ["design.py", "stimuli.py", "analysis.py", "plots.py", "two_way_choice.py"]


def imports(path, top_level_only=False):
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_no_other_app_imports_psychophysics():
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for app in ("game", "annotations", "training", "frontend", "clickme_site")
        for path in (ROOT / app).rglob("*.py")
        for module in imports(path)
        if module.split(".")[0] == "psychophysics"
    ]
    assert offenders == []


def test_pure_cores_import_no_django():
    for core in PURE_CORES:
        modules = list(imports(ROOT / "psychophysics" / core))
        assert not [m for m in modules if m.split(".")[0] in {"django", "rest_framework", "torch"}], core
        assert not [m for m in modules if m.startswith(("game.models", "annotations.models"))], core


def test_no_module_imports_torch_or_the_partner_runtime_at_import_time():
    for path in (ROOT / "psychophysics").rglob("*.py"):
        top = list(imports(path, top_level_only=True))
        assert "torch" not in top and "game.partner" not in top, path
