"""The documents live in the repository (issue 23 item 1): docs/SCIENCE.md, docs/API.md and
docs/OPERATIONS.md. Every file that names them names them by that path, nothing points outside the
checkout, every "docs/SCIENCE.md section N" cited is a section of docs/SCIENCE.md, and the paths of
docs/API.md's tables resolve to the views that serve them. No database."""

import re
import subprocess
import uuid
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SELF = str(Path(__file__).resolve().relative_to(ROOT))
TEXT_SUFFIXES = {".py", ".md", ".js", ".html", ".css", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".sh", ".conf"}
SKIPPED_DIRS = {".git", ".venv", "node_modules", "var", "__pycache__", "vendor"}
OUTSIDE = "../" + "shared/"  # spelled in two parts so that this file does not match itself
BARE_NAME = re.compile(r"(?<![/\w.-])(SCIENCE|API)\.md")
SCIENCE_CITE = re.compile(r"docs/SCIENCE\.md,?\s+(?:sections?\s+)?(\d+(?:(?:,\s*|\s+and\s+)\d+)*)")


def _repository_files() -> list[Path]:
    """The checkout's text files: git's tracked and untracked-not-ignored ones, else a walk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        paths = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in ROOT.rglob("*") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)]
    return [
        p
        for p in paths
        if p.suffix in TEXT_SUFFIXES
        and p.is_file()
        and not p.is_symlink()
        and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
    ]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8", errors="replace") for p in _repository_files()}


def test_the_documents_are_in_the_repository():
    for name in ("SCIENCE.md", "API.md", "OPERATIONS.md"):
        assert (DOCS / name).is_file(), f"docs/{name} is missing"


def test_no_file_points_outside_the_checkout(texts):
    offenders = [name for name, text in texts.items() if OUTSIDE in text]
    assert not offenders, f"{OUTSIDE} named in: {offenders}"


def test_the_documents_are_named_by_their_path_in_the_repository(texts):
    offenders = [
        f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for name, text in texts.items()
        if name != SELF  # this file spells the bare names to look for them
        for match in BARE_NAME.finditer(text)
    ]
    assert not offenders, "name the documents docs/SCIENCE.md and docs/API.md:\n" + "\n".join(offenders)


def _science_sections() -> set[int]:
    text = (DOCS / "SCIENCE.md").read_text(encoding="utf-8")
    return {int(number) for number in re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)}


def test_every_cited_section_of_science_is_a_section_of_it(texts):
    sections = _science_sections()
    assert sections == set(range(1, 8)), f"docs/SCIENCE.md's sections changed: {sorted(sections)}"
    cited: dict[int, list[str]] = {}
    for name, text in texts.items():
        for match in SCIENCE_CITE.finditer(text):
            for number in re.findall(r"\d+", match.group(1)):
                cited.setdefault(int(number), []).append(name)
    assert cited, "no citation of docs/SCIENCE.md sections found: the pattern broke"
    missing = {number: names for number, names in cited.items() if number not in sections}
    assert not missing, f"cited sections docs/SCIENCE.md lacks: {missing}"


# A table cell's path, optionally after its method: `GET /api/v1/images/{id}/map.npy`, `/admin/`.
TABLE_PATH = re.compile(r"`(?:(?:GET|POST|PATCH|PUT|DELETE)\s+)?(/[^`\s]*)`")
UUID_IDS = ("/exports/", "/training/jobs/")
PREFIXES = {"/api/", "/api/v1/"}  # named in the text as prefixes of many paths, not as endpoints
SAMPLE = {"round_id": "1", "run_id": "1", "trial_id": "1", "slug": "animals"}


def _api_paths() -> list[str]:
    rows = [line for line in (DOCS / "API.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    paths = []
    for row in rows:
        for raw in TABLE_PATH.findall(row):
            path = raw.split("?", 1)[0]
            if (
                path in PREFIXES
                or "..." in path
                or not path.startswith(("/api/", "/healthz", "/admin/", "/dashboard/", "/experiments/"))
            ):
                continue
            if path not in paths:
                paths.append(path)
    return paths


def _concrete(path: str) -> str:
    sample_id = str(uuid.UUID(int=1)) if any(part in path for part in UUID_IDS) else "1"
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), sample_id), path)


def test_the_paths_of_the_api_document_resolve_to_their_views():
    from clickme_site.errors import ResearchNotFound, api_not_found

    paths = _api_paths()
    assert len(paths) >= 35, f"too few paths read from docs/API.md's tables: {paths}"
    catch_alls = {api_not_found, getattr(ResearchNotFound.as_view(), "__wrapped__", None)}
    unresolved = []
    for path in [*paths, "/", "/leaderboard/"]:
        concrete = _concrete(path)
        try:
            match = resolve(concrete)
        except Resolver404:
            unresolved.append(concrete)
            continue
        view_class = getattr(match.func, "view_class", None)
        if match.func in catch_alls or view_class is ResearchNotFound:
            unresolved.append(f"{concrete} (only the catch-all not-found view)")
    assert not unresolved, f"docs/API.md paths the URLconf does not serve: {unresolved}"
