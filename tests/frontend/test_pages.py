"""The pages as served: CSP-clean markup (no inline script, no on* handler, no javascript: URL), the brush
constants from the server's settings, and the ES modules importing each other by hashed names in production."""

import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.management import call_command
from django.test import Client

from tests.landmarks import landmarks_of

pytestmark = pytest.mark.django_db


class Markup(HTMLParser):
    """Collects what a script-src 'self' policy would refuse."""

    def __init__(self):
        super().__init__()
        self.refused, self.scripts, self.in_script = [], [], None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.refused.append(f"<{tag} {name}=...>")
            if value and re.match(r"\s*javascript:", value, re.IGNORECASE):
                self.refused.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.scripts.append(attributes)
            self.in_script = attributes

    def handle_data(self, data):
        script = self.in_script
        if script is not None and data.strip() and script.get("type") != "application/json":
            self.refused.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = None


def markup_of(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    parser = Markup()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    return client


@pytest.mark.parametrize("path", ["/", "/leaderboard/", "/dashboard/", "/api/docs/", "/api/redoc/"])
def test_every_page_is_clean_under_script_src_self(staff_client, path):
    page = markup_of(staff_client, path)
    assert page.refused == []
    assert all(script.get("src") or script.get("type") == "application/json" for script in page.scripts)
    assert not any(script.get("type") == "importmap" for script in page.scripts)


def test_swagger_uis_script_is_a_separate_same_origin_file(client):
    page = markup_of(client, "/api/docs/")
    sources = [script["src"] for script in page.scripts]
    init = [src for src in sources if "script" in src and src.startswith("/api/docs/")]
    assert len(init) == 1 and all(src.startswith("/") for src in sources)  # nothing from a CDN
    response = client.get(init[0])
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content and b"/api/schema/" in response.content


def test_the_game_page_carries_the_brush_constants_of_the_settings(client, settings):
    settings.CLICKME = {**settings.CLICKME, "BRUSH_INTERVAL_MS": 40, "BRUSH_MAX_STEP_PX": 5, "POST_EVERY_CLICKS": 12}
    html = client.get("/").content.decode()
    assert 'data-brush-interval-ms="40"' in html and 'data-brush-max-step-px="5"' in html
    assert 'data-post-every-clicks="12"' in html
    assert "IP_HASH_SALT" not in html and settings.CLICKME["IP_HASH_SALT"] not in html


def test_the_brush_settings_default_to_the_original_game(settings):
    from clickme_site.settings import base

    assert (
        base.CLICKME["BRUSH_INTERVAL_MS"],
        base.CLICKME["BRUSH_MAX_STEP_PX"],
        base.CLICKME["POST_EVERY_CLICKS"],
    ) == (50, 7, 10)


def test_in_tests_the_modules_are_served_by_their_plain_names(client):
    html = client.get("/").content.decode()
    assert '<script type="module" src="/static/frontend/game.js"></script>' in html
    source = client.get("/static/frontend/game.js")
    assert source.status_code == 200
    assert 'from "./round.js";' in b"".join(source.streaming_content).decode()


def test_in_production_the_module_imports_point_at_the_hashed_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "frontend.static_storage.ModuleManifestStaticFilesStorage"},
    }
    others = ["admin", "rest_framework", "drf_spectacular*", "django_celery_beat", "django_filters"]
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=others)  # only frontend/
    folder = tmp_path / "frontend"
    hashed = {path.name for path in folder.glob("*.*.js")}
    game = next(folder / name for name in hashed if name.startswith("game."))
    imports = set(re.findall(r'from "\./([^"]+)"', game.read_text()))
    assert {name.split(".")[0] for name in imports} == {"api", "consent", "picture", "practice", "round", "view"}
    assert imports <= hashed and all(re.fullmatch(r"[a-z_]+\.[0-9a-f]{12}\.js", name) for name in imports)
    for name in hashed:  # every module's own imports resolve to a hashed file that exists
        for target in re.findall(r'from "\./([^"]+)"', (folder / name).read_text()):
            assert target in hashed, (name, target)


def test_the_vendored_chart_js_is_the_version_pinned_in_the_lockfile_with_its_licences():
    import json
    from pathlib import Path

    frontend = Path(__file__).resolve().parents[2] / "frontend"
    lock = json.loads((frontend / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/chart.js"]["version"]
    assert json.loads((frontend / "package.json").read_text())["dependencies"]["chart.js"] == version  # exact pin
    vendored = frontend / "static" / "frontend" / "vendor" / "chart.js"
    assert (vendored / "chart.umd.min.js").read_text()[:200].find(f"Chart.js v{version}") > 0
    assert "sourceMappingURL" not in (vendored / "chart.umd.min.js").read_text()[-300:]
    assert "MIT License" in (vendored / "LICENSE.md").read_text()
    assert "MIT" in (vendored / "LICENSE-kurkle-color.md").read_text()


@pytest.mark.parametrize("path", ["/", "/leaderboard/", "/dashboard/"])
def test_every_page_has_one_main_landmark_and_one_visible_h1(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 200
    page = landmarks_of(response.content.decode())
    assert page.n_main == 1
    assert len(page.visible_h1) == 1, page.visible_h1


def crash_with(exception):
    def render(*args, **kwargs):
        raise exception

    return render


@pytest.mark.parametrize(
    ("exception", "status"),
    [(SuspiciousOperation("odd request"), 400), (PermissionDenied(), 403), (RuntimeError("boom"), 500)],
)
def test_the_sites_error_pages_have_one_main_landmark_and_one_h1(db, monkeypatch, exception, status):
    monkeypatch.setattr("frontend.views.render", crash_with(exception))
    response = Client(raise_request_exception=False).get("/leaderboard/")
    assert response.status_code == status and response["Content-Type"].startswith("text/html")
    page = landmarks_of(response.content.decode())
    assert page.n_main == 1
    assert len(page.visible_h1) == 1, page.visible_h1


def test_the_not_found_and_csrf_pages_have_one_main_landmark_and_one_h1(db):
    not_found = Client().get("/no-such-page/")
    csrf_refused = Client(enforce_csrf_checks=True).post("/leaderboard/")
    for response, status in [(not_found, 404), (csrf_refused, 403)]:
        assert response.status_code == status and response["Content-Type"].startswith("text/html")
        page = landmarks_of(response.content.decode())
        assert page.n_main == 1
        assert len(page.visible_h1) == 1, page.visible_h1
