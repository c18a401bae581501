"""Who may fetch which uploaded file: images are public, masks and artifacts are not."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.authtoken.models import Token

from tests.conftest import synthetic_image


def test_images_are_public_but_their_ground_truth_masks_are_staff_only(client, categories, django_user_model):
    image = synthetic_image(categories[0], 0)
    assert client.get(image.file.url).status_code == 200
    assert client.get(image.mask.url).status_code == 404
    client.force_login(django_user_model.objects.create_user("boss", is_staff=True))
    assert client.get(image.mask.url).status_code == 200


def test_training_curves_need_a_researcher_and_checkpoints_staff(client, db, django_user_model):
    default_storage.save("training/job1/curves.png", ContentFile(b"png"))
    default_storage.save("training/job1/model.pt", ContentFile(b"weights"))
    default_storage.save("exports/clickme-maps-x.npz", ContentFile(b"npz"))
    token = Token.objects.create(user=django_user_model.objects.create_user("ada")).key
    assert client.get("/media/training/job1/curves.png").status_code == 404
    assert client.get("/media/training/job1/curves.png", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.get("/media/training/job1/model.pt", HTTP_AUTHORIZATION=f"Token {token}").status_code == 404
    assert client.get("/media/exports/clickme-maps-x.npz", HTTP_AUTHORIZATION=f"Token {token}").status_code == 404
    assert client.get("/media/../manage.py").status_code == 404
