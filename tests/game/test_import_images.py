"""import_images: folders and manifests, every size and mode converted, duplicates and broken files skipped."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from game.models import Category, Image


def write(path, image, fmt):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path


@pytest.fixture
def imagenet_folder(tmp_path):
    root = tmp_path / "imagenet"
    rng = np.random.default_rng(0)
    rgb = PILImage.fromarray(rng.integers(0, 255, (300, 500, 3), dtype=np.uint8))
    write(root / "n01440764" / "wide.jpg", rgb, "JPEG")
    write(root / "n01440764" / "tall.png", rgb.rotate(90, expand=True), "PNG")
    write(root / "n01440764" / "grey.png", rgb.convert("L"), "PNG")
    write(root / "golden retriever" / "palette.png", rgb.convert("P"), "PNG")
    write(root / "golden retriever" / "alpha.png", rgb.convert("RGBA"), "PNG")
    write(root / "golden retriever" / "cmyk.jpg", rgb.convert("CMYK"), "JPEG")
    write(root / "golden retriever" / "tiny.png", rgb.resize((20, 12)), "PNG")
    write(
        root / "golden retriever" / "sixteen.png",
        PILImage.fromarray(rng.integers(0, 65535, (64, 80), dtype=np.uint16)),
        "PNG",
    )
    (root / "golden retriever" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (root / "golden retriever" / "truncated.png").write_bytes(
        io.BytesIO(open(root / "n01440764" / "tall.png", "rb").read()[:200]).getvalue()
    )
    return root


def test_folder_import_converts_every_mode_to_256_rgb_and_skips_broken_files(db, imagenet_folder, capsys):
    call_command("import_images", str(imagenet_folder))
    out, err = capsys.readouterr()
    assert "imported 8 images, skipped 0 duplicates, 2 unreadable" in out
    assert "broken.jpg" in err and "truncated.png" in err
    assert Image.objects.count() == 8
    for image in Image.objects.all():
        with image.file.open("rb") as handle, PILImage.open(handle) as served:
            assert served.mode == "RGB" and served.size == (256, 256) == (image.width, image.height)
    assert set(Category.objects.values_list("name", "wnid")) == {
        ("n01440764", "n01440764"),
        ("golden retriever", "x-golden retriever"),
    }


def test_each_image_keeps_its_name_under_the_folder_and_never_the_servers_path(db, imagenet_folder):
    call_command("import_images", str(imagenet_folder))
    names = set(Image.objects.values_list("source_name", flat=True))
    assert {"n01440764/wide.jpg", "n01440764/grey.png", "golden retriever/sixteen.png"} <= names
    assert len(names) == 8 and not any(str(imagenet_folder.parent) in name for name in names)


def test_importing_again_skips_duplicates_by_content(db, imagenet_folder, capsys):
    call_command("import_images", str(imagenet_folder))
    call_command("import_images", str(imagenet_folder))
    assert "imported 0 images, skipped 8 duplicates" in capsys.readouterr().out
    assert Image.objects.count() == 8


def test_a_short_side_is_resized_to_256_then_centre_cropped(db, tmp_path):
    array = np.zeros((256, 512, 3), dtype=np.uint8)
    array[:, 128:384] = 255  # the centre square is white, the sides black
    write(tmp_path / "src" / "cat" / "x.png", PILImage.fromarray(array), "PNG")
    call_command("import_images", str(tmp_path / "src"))
    image = Image.objects.get()
    with image.file.open("rb") as handle, PILImage.open(handle) as served:
        assert np.asarray(served).min() >= 250


def test_manifest_import_reads_splits_wnids_masks_and_reports_bad_rows(db, tmp_path, capsys):
    rng = np.random.default_rng(1)
    for name in ("a", "b", "c"):
        write(tmp_path / f"{name}.png", PILImage.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[:32] = 255
    write(tmp_path / "a_mask.png", PILImage.fromarray(mask), "PNG")
    (tmp_path / "manifest.csv").write_text(
        "path,category,split,wnid,mask\n"
        "a.png,dog,val,n02099601,a_mask.png\n"
        "b.png,dog,train,n02099601,\n"
        "c.png,dog,holiday,n02099601,\n"
        "missing.png,dog,test,n02099601,\n"
    )
    call_command("import_images", str(tmp_path / "manifest.csv"))
    out, err = capsys.readouterr()
    assert "imported 2 images" in out and "2 unreadable" in out
    assert "holiday" in err and "missing.png" in err
    a = Image.objects.get(split="val")
    assert a.category.wnid == "n02099601" and a.mask
    assert set(Image.objects.values_list("source_name", flat=True)) == {"a.png", "b.png"}
    with a.mask.open("rb") as handle, PILImage.open(handle) as served_mask:
        m = np.asarray(served_mask)
    assert m.shape == (256, 256) and m[:128].min() == 255 and m[128:].max() == 0


def test_manifest_without_header_uses_path_category_split(db, tmp_path):
    write(tmp_path / "photos" / "x.png", PILImage.new("RGB", (30, 30), "red"), "PNG")
    (tmp_path / "m.csv").write_text("photos/x.png,fox,test\n")
    call_command("import_images", str(tmp_path / "m.csv"))
    image = Image.objects.get()
    assert image.split == "test" and image.source_name == "photos/x.png"  # the path as the manifest writes it


def test_a_failed_row_insert_leaves_no_file_behind(db, tmp_path, monkeypatch, settings):
    from game import importing

    write(tmp_path / "src" / "cat" / "x.png", PILImage.new("RGB", (30, 30), "red"), "PNG")

    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(importing.Image, "save", broken_save)
    with pytest.raises(RuntimeError):
        call_command("import_images", str(tmp_path / "src"))
    assert not list((settings.MEDIA_ROOT / "images").rglob("*.png"))
