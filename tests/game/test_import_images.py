"""import_images: folders, manifests and flat folders with a label file in ImageNet's formats (bad labels
refused before anything is stored), every size and mode converted, duplicates and broken files skipped,
each image keeping its file name under what was imported."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
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


TENCH, GOLDFISH, KIT_FOX = "n01440764", "n01443537", "n02119789"
VAL_FILES = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in (1, 2, 3)]


@pytest.fixture
def val_folder(tmp_path):
    """ImageNet's validation set in small: a flat folder of JPEGs (and the label file beside them)."""
    root = tmp_path / "val"
    rng = np.random.default_rng(2)
    for name in VAL_FILES:
        write(root / name, PILImage.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)), "JPEG")
    return root


@pytest.fixture
def loc_mapping(tmp_path):
    path = tmp_path / "LOC_synset_mapping.txt"
    path.write_text(f"{TENCH} tench, Tinca tinca\n{GOLDFISH} goldfish, Carassius auratus\n")
    return path


def stored():
    return sorted(Image.objects.values_list("source_name", "category__wnid", "category__name", "split"))


def test_a_flat_folder_with_wnids_one_a_line_is_imported_with_its_file_names(db, val_folder, capsys):
    labels = val_folder / "labels.txt"  # beside the images: not an image, not imported
    labels.write_text(f"{TENCH}\n{GOLDFISH}\n{TENCH}\n")
    call_command("import_images", str(val_folder), "--labels", str(labels), "--split", "val")
    assert "imported 3 images" in capsys.readouterr().out
    assert stored() == [
        (VAL_FILES[0], TENCH, TENCH, "val"),
        (VAL_FILES[1], GOLDFISH, GOLDFISH, "val"),
        (VAL_FILES[2], TENCH, TENCH, "val"),
    ]


def test_class_indexes_are_read_through_the_synset_list_which_names_the_categories(db, val_folder, loc_mapping):
    (val_folder.parent / "val.txt").write_text("2\n1\n1\n")
    call_command("import_images", str(val_folder), "--labels", str(val_folder.parent / "val.txt"),
                 "--synsets", str(loc_mapping))  # fmt: skip
    assert [row[:3] for row in stored()] == [
        (VAL_FILES[0], GOLDFISH, "goldfish"),
        (VAL_FILES[1], TENCH, "tench"),
        (VAL_FILES[2], TENCH, "tench"),
    ]


def test_the_devkit_ground_truth_is_read_through_its_meta_mat(db, val_folder, tmp_path):
    from scipy.io import savemat

    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("num_children", "O")]
    synsets = np.array([(1, KIT_FOX, "kit fox, Vulpes macrotis", 0), (2, TENCH, "tench, Tinca tinca", 0)], dtype)
    savemat(tmp_path / "meta.mat", {"synsets": synsets.reshape(-1, 1)})
    ground_truth = tmp_path / "ILSVRC2012_validation_ground_truth.txt"
    ground_truth.write_text("1\n2\n1\n")
    call_command("import_images", str(val_folder), "--labels", str(ground_truth),
                 "--synsets", str(tmp_path / "meta.mat"))  # fmt: skip
    assert [row[:3] for row in stored()] == [
        (VAL_FILES[0], KIT_FOX, "kit fox"),
        (VAL_FILES[1], TENCH, "tench"),
        (VAL_FILES[2], KIT_FOX, "kit fox"),
    ]


def test_loc_val_solution_csv_labels_the_folder(db, val_folder, tmp_path):
    solution = tmp_path / "LOC_val_solution.csv"
    solution.write_text(
        "ImageId,PredictionString\n"
        f"ILSVRC2012_val_00000002,{GOLDFISH} 1 2 30 40 {GOLDFISH} 5 6 20 20\n"
        f"ILSVRC2012_val_00000001,{TENCH} 1 2 30 40\n"
        f"ILSVRC2012_val_00000003,{TENCH} 1 2 30 40\n"
    )
    call_command("import_images", str(val_folder), "--labels", str(solution))
    assert [row[:2] for row in stored()] == [(VAL_FILES[0], TENCH), (VAL_FILES[1], GOLDFISH), (VAL_FILES[2], TENCH)]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("labels.txt", f"{TENCH}\n{GOLDFISH}\n", r"ILSVRC2012_val_00000003.JPEG has no label: .*labels.txt ends at line 2"),
        ("labels.txt", f"{TENCH}\n{TENCH}\n{TENCH}\n{TENCH}\n", r"labels.txt:4: a label for no file"),
        ("labels.txt", f"{TENCH}\n{TENCH}\nn09999999\n", r"labels.txt:3 \(ILSVRC2012_val_00000003.JPEG\): n09999999 is not a synset"),
        ("labels.txt", f"{TENCH}\ngoldfish\n{TENCH}\n", r"labels.txt:2 \(ILSVRC2012_val_00000002.JPEG\): 'goldfish' is neither"),
        ("labels.txt", "1\n2\n3\n", r"labels.txt:3 \(ILSVRC2012_val_00000003.JPEG\): 3 is not a class index"),
        ("sol.csv", f"ImageId,PredictionString\nILSVRC2012_val_00000001,{TENCH}\nILSVRC2012_val_00000009,{TENCH}\n",
         r"sol.csv:3: ILSVRC2012_val_00000009 has no image file in .*val"),
        ("sol.csv", f"ImageId,PredictionString\nILSVRC2012_val_00000001,{TENCH}\nILSVRC2012_val_00000002,{TENCH}\n",
         r"ILSVRC2012_val_00000003.JPEG has no label in .*sol.csv"),
    ],
)  # fmt: skip
def test_a_bad_or_missing_label_names_file_and_line_and_nothing_is_imported(
    db, val_folder, loc_mapping, settings, tmp_path, name, text, expected
):
    """The good labels before the bad one are not imported either: every label is checked first."""
    (tmp_path / name).write_text(text)
    with pytest.raises(CommandError, match=expected) as raised:
        call_command("import_images", str(val_folder), "--labels", str(tmp_path / name), "--synsets", str(loc_mapping))
    assert "Nothing was imported" in str(raised.value)
    assert not Image.objects.exists() and not Category.objects.exists()
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_labels_need_a_flat_folder_of_images_and_a_readable_synset_list(db, val_folder, tmp_path, imagenet_folder):
    labels = tmp_path / "labels.txt"
    labels.write_text(f"{TENCH}\n")
    with pytest.raises(CommandError, match="has no image files at its top"):
        call_command("import_images", str(imagenet_folder), "--labels", str(labels))
    (tmp_path / "m.csv").write_text("x.png,fox\n")
    with pytest.raises(CommandError, match="go with a folder"):
        call_command("import_images", str(tmp_path / "m.csv"), "--labels", str(labels))
    with pytest.raises(CommandError, match="missing.txt: no such file"):
        call_command(
            "import_images", str(val_folder), "--labels", str(labels), "--synsets", str(tmp_path / "missing.txt")
        )
    with pytest.raises(CommandError, match="nope.txt: cannot be read"):
        call_command("import_images", str(val_folder), "--labels", str(tmp_path / "nope.txt"))
    assert not Image.objects.exists()


def test_a_synset_list_names_the_wnid_folders_of_a_class_folder_import(db, imagenet_folder, loc_mapping):
    call_command("import_images", str(imagenet_folder), "--synsets", str(loc_mapping))
    assert set(Category.objects.values_list("name", "wnid")) == {
        ("tench", TENCH),
        ("golden retriever", "x-golden retriever"),
    }
