"""Who may fetch which file: served images are public; masks, exports, partner artifacts, checkpoints
and logs live under PRIVATE_ROOT (outside MEDIA_ROOT) and no /media/ URL reaches them, however it is
spelt; training curves are served to researchers only."""

import http.client
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from annotations.services import export_path
from clickme_site.media import clean_media_path
from tests.conftest import synthetic_image
from tests.factories import CategoryFactory
from training.files import job_dir

JOB = "0b6f3a52-8d2e-4f0c-9a51-2f1e0c7d4b11"
SECRETS = {
    "training/{job}/model.pt": b"weights",
    "training/{job}/log.txt": b"job log",
    "partners/demo-20260101-000000.pt2": b"partner artifact",
    "exports/clickme-maps-x.npz": b"npz",
}
# Every spelling of "climb out of images/" we know of; {t} is a private file's path.
TRAVERSALS = [
    "/media/images/../{t}",
    "/media/images/%2e%2e/{t}",
    "/media/images/%2E%2E/{t}",
    "/media/images/..%2f{t}",
    "/media/images/..%2F{t}",
    "/media/images/%2e%2e%2f{t}",
    "/media/images/.%2e/{t}",
    "/media/images/..%5c{t}",
    "/media/images/%5c..%5c{t}",
    "/media/images\\..\\{t}",
    "/media/images/..\\{t}",
    "/media/images/./../{t}",
    "/media/images//../{t}",
    "/media//images/../{t}",
    "/media/images/%252e%252e/{t}",
    "/media/images/..%252f{t}",
    "/media/images/%2e%2e/%2e%2e/private/{t}",
    "/media/images/../../private/{t}",
    "/media/%2e%2e/private/{t}",
    "/media/images/..%00/{t}",
    "/media/{t}",
]


def _raw_get(base_url, path, headers=None):
    """GET with the path sent byte for byte (no client-side normalisation), over real HTTP."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def private_and_legacy_files(settings, categories):
    """A mask saved through the model, private files at PRIVATE_ROOT, and the same files where old
    versions kept them (under MEDIA_ROOT), so a traversal that worked before would find them."""
    image = synthetic_image(categories[0], 0)
    targets = [image.mask.name]
    for template, content in SECRETS.items():
        name = template.format(job=JOB)
        for root in (settings.PRIVATE_ROOT, settings.MEDIA_ROOT):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        targets.append(name)
    legacy_mask = settings.MEDIA_ROOT / image.mask.name
    legacy_mask.parent.mkdir(parents=True, exist_ok=True)
    legacy_mask.write_bytes((settings.PRIVATE_ROOT / image.mask.name).read_bytes())
    return image, targets


def test_every_traversal_spelling_is_404_and_images_stay_public(wsgi_server, private_and_legacy_files):
    wsgi_url = wsgi_server.url
    image, targets = private_and_legacy_files
    assert _raw_get(wsgi_url, image.file.url)[0] == 200
    leaks = []
    for target in targets:
        for template in TRAVERSALS:
            path = template.format(t=target)
            status, body = _raw_get(wsgi_url, path)
            if status != 404:
                leaks.append((path, status, body[:40]))
    assert leaks == []


def test_the_access_check_refuses_any_unnormalised_path():
    assert clean_media_path("images/ab/cd.png") == "images/ab/cd.png"
    for bad in [
        "images/../masks/x.png",
        "images/./x.png",
        "images//x.png",
        "/images/x.png",
        "images/..\\x",
        "images/%2e%2e/x",
        "images/x\x00.png",
        "",
        "images/",
    ]:
        assert clean_media_path(bad) is None, bad


def test_private_files_are_built_under_private_root_not_media_root(settings, categories):
    image = synthetic_image(categories[0], 0)
    private, media = Path(settings.PRIVATE_ROOT).resolve(), Path(settings.MEDIA_ROOT).resolve()
    mask = Path(image.mask.path).resolve()
    assert mask.is_relative_to(private) and mask.is_file()
    assert not (media / "masks").exists()
    export = type("E", (), {"id": uuid.uuid4()})()
    for built in (job_dir(uuid.uuid4()), export_path(export=export)):
        assert built.is_relative_to(private) and not built.is_relative_to(media)
    with pytest.raises(ValueError):
        image.mask.url  # noqa: B018 - a private file has no URL to leak


def test_masks_are_not_served_even_to_staff(client, categories, django_user_model, settings):
    image = synthetic_image(categories[0], 0)
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True, is_superuser=True))
    assert client.get(f"/media/{image.mask.name}").status_code == 404
    assert client.get(f"/media/images/../{image.mask.name}").status_code == 404


def test_training_curves_need_a_researcher_and_nothing_beside_them_is_served(client, db, settings, django_user_model):
    from training.models import TrainingJob

    folder = settings.PRIVATE_ROOT / "training" / JOB
    folder.mkdir(parents=True)
    (folder / "curves.png").write_bytes(b"png")
    (folder / "model.pt").write_bytes(b"weights")
    ada = django_user_model.objects.create_user("ada")
    TrainingJob.objects.create(id=JOB, config={}, requested_by=ada)  # whose curves they are: tests/training
    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=ada).key}"}
    assert client.get(f"/media/training/{JOB}/curves.png").status_code == 404
    answer = client.get(f"/media/training/{JOB}/curves.png", **auth)
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == b"png"
    assert client.get(f"/media/training/{JOB.upper()}/curves.png", **auth).status_code == 404
    assert client.get(f"/media/training/{JOB}/model.pt", **auth).status_code == 404
    assert client.get(f"/media/training/{JOB}/../{JOB}/model.pt", **auth).status_code == 404
    assert client.get("/media/../manage.py").status_code == 404


def test_move_private_files_moves_legacy_files_and_repoints_partners(settings, db):
    from game.models import Partner

    media, private = Path(settings.MEDIA_ROOT), Path(settings.PRIVATE_ROOT)
    for name in ["masks/ab/x.png", f"training/{JOB}/model.pt", "exports/e.npz", "partners/demo.pt2"]:
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(name.encode())
    (media / "images").mkdir()
    (media / "images" / "public.png").write_bytes(b"image")
    category = CategoryFactory()
    partner = Partner.objects.create(
        name="demo",
        architecture="exported",
        weights_file=str((media / "partners/demo.pt2").resolve()),
        category_mapping=[[category.pk, category.name]],
    )
    call_command("move_private_files")
    call_command("move_private_files")  # idempotent
    for name in ["masks/ab/x.png", f"training/{JOB}/model.pt", "exports/e.npz", "partners/demo.pt2"]:
        assert (private / name).read_bytes() == name.encode() and not (media / name).exists()
    assert sorted(p.name for p in media.iterdir()) == ["images"]
    partner.refresh_from_db()
    assert partner.weights_file == str((private / "partners/demo.pt2").resolve())


def test_export_download_can_be_handed_to_nginx(settings, db, django_user_model):
    from rest_framework.test import APIClient

    from annotations.models import Export

    user = django_user_model.objects.create_user("ada")
    export = Export.objects.create(format="npz", filters={}, size=8, requested_by=user, status="done")
    path = export_path(export=export)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"npz bytes")
    Export.objects.filter(pk=export.pk).update(file=f"exports/{path.name}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    direct = client.get(f"/api/v1/exports/{export.pk}/download")
    assert direct.status_code == 200 and b"".join(direct.streaming_content) == b"npz bytes"
    settings.CLICKME_X_ACCEL_REDIRECT_PREFIX = "/protected/"
    handed = client.get(f"/api/v1/exports/{export.pk}/download")
    assert handed.status_code == 200 and handed["X-Accel-Redirect"] == f"/protected/exports/{path.name}"
    assert handed.content == b"" and "attachment" in handed["Content-Disposition"]
