"""What `make run` installs (requirements.txt) holds every third-party module the product imports: a
module only the development requirements bring (scikit-image for `sample_photos` once was) works in
the suite and fails on a newcomer's checkout."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["clickme_site", "game", "annotations", "training", "psychophysics", "frontend"]
LOCAL = set(PRODUCT) | {"tests", "bench"}


def pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def imported_top_level_modules() -> dict[str, str]:
    """{top-level module: a file that imports it} over the product's code, migrations aside."""
    found: dict[str, str] = {}
    files = [p for app in PRODUCT for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    files += [ROOT / "manage.py", ROOT / "scripts" / "gunicorn.conf.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_product_is_pinned_in_the_runtime_requirements():
    runtime = pinned(ROOT / "requirements.txt")
    distributions = packages_distributions()
    missing = {}
    for module, where in imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in LOCAL or module == "__future__":
            continue
        provided_by = {name.lower().replace("_", "-") for name in distributions.get(module, [])}
        assert provided_by, f"{module} (imported by {where}) is not installed at all"
        if not provided_by & runtime:
            missing[module] = (where, sorted(provided_by))
    assert missing == {}, f"imported by the product but not in requirements.txt: {missing}"
