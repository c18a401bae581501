"""STYLE.md's one-way arrows: game imports neither annotations nor training; pure cores import no Django."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE_CORES = [
    "game/reveal.py",
    "game/partner.py",
    "game/click_rules.py",
    "game/images.py",
    "game/synthetic_benchmark.py",
    "game/simulated_players.py",
    "training/nets/small_cnn.py",
    "training/nets/local_fcn.py",
    "training/demo_partner.py",
]


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_game_imports_neither_annotations_nor_training():
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for path in (ROOT / "game").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in {"annotations", "training"}
    ]
    assert offenders == []


def test_pure_cores_import_no_django():
    offenders = [(core, m) for core in PURE_CORES for m in imported_modules(ROOT / core) if m.split(".")[0] == "django"]
    assert offenders == []
