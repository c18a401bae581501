"""The real ImageNet partner (issue 8 item 4): EfficientNet-Lite0 from the installed weights package,
its output order <-> wnids from timm's maintained table, checked on real photographs that ship with
scikit-image; zero paint on them is not a win; `setup_game --images` (IMAGES=DIR make run) plays them,
from class folders or a flat folder with a label file (IMAGES_LABELS=FILE)."""

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from game import pretrained
from game.images import as_float_array, served_image
from game.models import Image, ImageScreening, Partner
from game.partner import PartnerRuntime, PartnerSpec
from game.partner_validity import promotion_refusal
from game.reveal import centre_crop, partner_view
from game.sample_photos import PHOTOS, photo_array, sample_photos_write
from tests.conftest import png_of

TABBY, TIGER_CAT, EGYPTIAN_CAT = "n02123045", "n02123159", "n02124075"


@pytest.fixture(scope="module")
def runtime():
    spec = PartnerSpec(
        architecture="efficientnet_lite0",
        weights_path=pretrained.weights_path(),
        n_outputs=1000,
        input_size=pretrained.INPUT_SIZE,
        mean=pretrained.MEAN,
        std=pretrained.STD,
    )
    return PartnerRuntime(spec)


def _photo(name):
    """The photograph as the game serves it (served_image: the centred square at 256 px)."""
    return as_float_array(served_image(png_of(photo_array(name)), 256))


def test_the_class_table_is_imagenets_and_every_sample_photo_names_a_class_in_it():
    classes = pretrained.imagenet_classes()
    wnids = [wnid for wnid, _description in classes]
    assert len(classes) == 1000 and len(set(wnids)) == 1000
    assert classes[0][0] == "n01440764" and "tench" in classes[0][1]
    assert classes[281][0] == TABBY and "tabby" in classes[281][1]
    for wnid, description, _source in PHOTOS.values():
        assert description == classes[wnids.index(wnid)][1]


def test_efficientnet_names_each_photograph_in_full_view_and_zero_paint_on_the_rocket_is_not_a_win(runtime):
    """Full view: each photograph's ImageNet class is in the top 5 (chelsea's top 1 is a cat). Zero paint
    (the darkened-noise view of docs/SCIENCE.md section 1): the missile is not in the top 5 on any of 10
    noise draws. Measured, not asserted here: on coffee, camera and grace_hopper (close-ups of one
    large object) the class shows through the noise on most draws (20, 19, 16 of 20), chelsea on 6 of
    20; the validity report counts that and promotion refuses such a set (the test below)."""
    wnids = [wnid for wnid, _description in pretrained.imagenet_classes()]
    for name, (wnid, _description, _source) in PHOTOS.items():
        full = runtime.predict(centre_crop(_photo(name), 224)[None])[0]
        top5 = [wnids[k] for k in np.argsort(-full)[:5]]
        assert wnid in top5, (name, top5)
        if name == "chelsea":
            assert top5[0] in (TABBY, TIGER_CAT, EGYPTIAN_CAT)
    rocket, missile = _photo("rocket"), PHOTOS["rocket"][0]
    views = np.stack(
        [partner_view(rocket, np.zeros((0, 2), np.int64), seed=s, crop_px=224, bubble_px=21) for s in range(10)]
    )
    for seed, probabilities in enumerate(runtime.predict(views)):
        assert missile not in [wnids[k] for k in np.argsort(-probabilities)[:5]], f"seed {seed}: zero paint wins"


@pytest.mark.django_db
def test_setup_game_imports_the_folder_sets_other_images_aside_and_refuses_a_partner_that_needs_no_paint(
    tmp_path, categories, capsys
):
    from tests.factories import ImageFactory

    other = ImageFactory(category=categories[0])
    sample_photos_write(tmp_path / "photos", names=["chelsea", "coffee", "camera"])
    # EfficientNet reads these three photographs through the noise: none is playable, the partner is refused
    try:
        call_command("setup_game", "--images", str(tmp_path / "photos"))
        refused = False
    except CommandError as error:
        refused = True
        assert "FORCE_PARTNER=1" in str(error)
    partner = Partner.objects.get(name="efficientnet_lite0")
    validity = partner.metrics["validity"]
    assert validity["top_k"] == 5 and validity["n_outputs"] == 1000 and validity["n_screened"] == 3
    assert refused == (promotion_refusal(validity) is not None) and partner.is_active == (not refused)
    assert validity["n_playable"] == len(validity["images"]) == validity["n_images"]
    assert set(Image.objects.filter(active=True).values_list("category__wnid", flat=True)) == {
        PHOTOS[name][0] for name in ("chelsea", "coffee", "camera")
    }
    other.refresh_from_db()
    assert not other.active
    call_command("setup_game", "--images", str(tmp_path / "photos"), "--force-partner")
    assert Partner.objects.get(is_active=True).name == "efficientnet_lite0"
    assert Image.objects.count() == 4  # imported once
    assert "already there" in capsys.readouterr().out


@pytest.mark.django_db
def test_setup_game_refuses_a_folder_that_is_not_imagenet_style(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "cat.png").write_bytes(b"")
    with pytest.raises(CommandError, match="no category folders"):
        call_command("setup_game", "--images", str(flat))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("setup_game", "--images", str(tmp_path / "missing"))
    assert not Partner.objects.exists() and not Image.objects.exists()


@pytest.mark.django_db
def test_setup_game_without_images_keeps_what_is_there(tmp_path, categories, capsys):
    """`make run` on a set-up machine: images stored and a partner registered, so nothing is generated
    or trained again."""
    from tests.factories import ImageFactory

    ImageFactory(category=categories[0])
    mapping = [[categories[0].pk, categories[0].name]]
    Partner.objects.create(
        name="p", architecture="exported", weights_file="p.pt2", is_active=True, category_mapping=mapping
    )
    call_command("setup_game", "--benchmark-dir", str(tmp_path / "bench"))
    assert "knows every category in play" in capsys.readouterr().out
    assert not (tmp_path / "bench").exists() and Image.objects.count() == 1 and Partner.objects.count() == 1


@pytest.mark.django_db
def test_setup_game_does_not_keep_a_partner_that_does_not_know_the_categories_in_play(tmp_path, categories):
    """An active partner without an output for the images in play could never be recognised: the
    shipped demo partner is tried instead, and refused here (it knows the benchmark's categories only)."""
    from tests.factories import CategoryFactory, ImageFactory

    ImageFactory(category=CategoryFactory(wnid="n02123045"))  # not one of the benchmark's categories
    mapping = [[categories[0].pk, categories[0].name]]
    Partner.objects.create(
        name="p", architecture="exported", weights_file="p.pt2", is_active=True, category_mapping=mapping
    )
    with pytest.raises(CommandError, match="NOT the game's partner|cannot play the images in play"):
        call_command("setup_game", "--benchmark-dir", str(tmp_path / "bench"))


@pytest.mark.django_db
def test_images_of_other_categories_are_checked_against_the_partner_every_time(tmp_path, capsys):
    """IMAGES=other make run on a checkout whose partner is active: its outputs are mapped to the new
    categories and its report is computed on their images (it used to stay as it was: no round of the
    new categories could be won, and the report said 0 images, promotion allowed)."""
    sample_photos_write(tmp_path / "first", names=["chelsea"])
    sample_photos_write(tmp_path / "second", names=["rocket"])
    call_command("setup_game", "--images", str(tmp_path / "first"), "--force-partner")
    call_command("setup_game", "--images", str(tmp_path / "second"), "--force-partner")
    partner = Partner.objects.get(is_active=True)
    rocket = Image.objects.get(active=True)
    assert rocket.category.wnid == PHOTOS["rocket"][0]
    assert rocket.category_id in {category_id for category_id, _label in partner.category_mapping}
    assert partner.metrics["validity"]["n_screened"] == 1
    assert ImageScreening.objects.filter(partner=partner, image=rocket).exists()


def _flat_photos(folder, names):
    """The sample photographs as a flat folder (DIR/<name>.png) and their wnids in file order."""
    sample_photos_write(folder / "by_class", names=names)
    for path in (folder / "by_class").rglob("*.png"):
        path.rename(folder / path.name)
    return [PHOTOS[name][0] for name in sorted(names)]


@pytest.mark.django_db
def test_setup_game_plays_a_flat_folder_labelled_by_a_synset_list_and_class_indexes(tmp_path):
    """IMAGES=DIR IMAGES_LABELS=FILE IMAGES_SYNSETS=FILE make run: the labels' categories are the ones in
    play, named from the synset list, and each image keeps its file name."""
    wnids = _flat_photos(tmp_path, ["rocket", "chelsea"])
    (tmp_path / "LOC_synset_mapping.txt").write_text(
        "".join(f"{wnid} {PHOTOS[name][1]}\n" for name, wnid in zip(["chelsea", "rocket"], wnids, strict=True))
    )
    (tmp_path / "val.txt").write_text("1\n2\n")
    call_command(
        "setup_game", "--images", str(tmp_path), "--labels", str(tmp_path / "val.txt"),
        "--synsets", str(tmp_path / "LOC_synset_mapping.txt"), "--force-partner",
    )  # fmt: skip
    assert sorted(Image.objects.filter(active=True).values_list("source_name", "category__wnid", "category__name")) == [
        ("chelsea.png", wnids[0], "tabby"),
        ("rocket.png", wnids[1], "missile"),
    ]
    partner = Partner.objects.get(is_active=True)
    assert {category_id for category_id, _label in partner.category_mapping} >= set(
        Image.objects.values_list("category_id", flat=True)
    )


@pytest.mark.django_db
def test_setup_game_with_a_bad_label_imports_nothing_and_registers_no_partner(tmp_path):
    _flat_photos(tmp_path, ["rocket", "chelsea"])
    (tmp_path / "labels.txt").write_text(f"{PHOTOS['chelsea'][0]}\nmissile\n")
    with pytest.raises(CommandError, match=r"labels.txt:2 \(rocket.png\): 'missile' is neither") as raised:
        call_command("setup_game", "--images", str(tmp_path), "--labels", str(tmp_path / "labels.txt"))
    assert "Nothing was imported" in str(raised.value)
    assert not Image.objects.exists() and not Partner.objects.exists()
    with pytest.raises(CommandError, match="go with --images"):
        call_command("setup_game", "--labels", str(tmp_path / "labels.txt"))
