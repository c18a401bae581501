"""ImageNet's label files (game/imagenet_labels.py): synset lists, the devkit's meta.mat, one label a
line in file order and LOC_val_solution.csv; every problem named by file and line. No database."""

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from game.imagenet_labels import LabelError, folder_labels, synsets_read

TENCH, GOLDFISH, KIT_FOX, SETTER = "n01440764", "n01443537", "n02119789", "n02100735"
FILES = ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG", "ILSVRC2012_val_00000003.JPEG"]
FOLDER = Path("/data/val")


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def loc_mapping(tmp_path):
    return write(
        tmp_path / "LOC_synset_mapping.txt", f"{TENCH} tench, Tinca tinca\n{GOLDFISH} goldfish, Carassius auratus\n"
    )


@pytest.fixture
def meta_mat(tmp_path):
    """The devkit's data/meta.mat in small: ILSVRC2012_ID 1 is kit fox (not tench), a non-leaf synset after the classes."""
    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("gloss", "O"), ("num_children", "O")]
    synsets = np.array(
        [
            (1, KIT_FOX, "kit fox, Vulpes macrotis", "small grey fox", 0),
            (2, SETTER, "English setter", "a setter", 0),
            (1001, "n00001740", "entity", "that which exists", 3),
        ],
        dtype=dtype,
    )
    path = tmp_path / "meta.mat"
    savemat(path, {"synsets": synsets.reshape(-1, 1)})
    return path


def labels_of(path, synsets=None, files=FILES):
    return [
        (label.file_name, label.wnid)
        for label in folder_labels(folder=FOLDER, file_names=files, labels_path=path, synsets=synsets)
    ]


def test_a_synset_list_is_indexed_by_line_and_names_each_class_by_its_first_name(loc_mapping):
    table = synsets_read(loc_mapping)
    assert table.indexed_by == "line" and table.by_index[1].wnid == TENCH and table.by_index[2].wnid == GOLDFISH
    assert table.name_of(TENCH) == "tench" and table.name_of("n09999999") == "n09999999"


def test_the_devkit_meta_mat_is_indexed_by_ilsvrc2012_id_and_keeps_only_the_leaf_classes(meta_mat):
    table = synsets_read(meta_mat)
    assert table.indexed_by == "ILSVRC2012_ID"
    assert {i: s.wnid for i, s in table.by_index.items()} == {1: KIT_FOX, 2: SETTER}
    assert table.name_of(KIT_FOX) == "kit fox"


def test_wnids_one_a_line_label_the_files_in_order(tmp_path):
    path = write(tmp_path / "labels.txt", f"{TENCH}\n{GOLDFISH}\n{TENCH}\n\n")
    assert labels_of(path) == list(zip(FILES, [TENCH, GOLDFISH, TENCH], strict=True))


def test_class_indexes_are_read_through_the_synset_list(tmp_path, loc_mapping, meta_mat):
    path = write(tmp_path / "val_labels.txt", "2\n1\n2\n")
    assert labels_of(path, synsets_read(loc_mapping)) == list(zip(FILES, [GOLDFISH, TENCH, GOLDFISH], strict=True))
    ground_truth = write(tmp_path / "ILSVRC2012_validation_ground_truth.txt", "1\n2\n1\n")
    assert labels_of(ground_truth, synsets_read(meta_mat)) == list(zip(FILES, [KIT_FOX, SETTER, KIT_FOX], strict=True))


def test_the_devkit_ground_truth_against_a_line_ordered_list_is_refused(tmp_path, loc_mapping):
    """Its integers are ILSVRC2012_IDs: read in LOC_synset_mapping.txt's order, every label would be wrong."""
    ground_truth = write(tmp_path / "ILSVRC2012_validation_ground_truth.txt", "1\n2\n1\n")
    with pytest.raises(LabelError, match="meta.mat"):
        labels_of(ground_truth, synsets_read(loc_mapping))


def test_loc_val_solution_csv_labels_each_file_by_the_first_wnid_of_its_prediction_string(tmp_path):
    path = write(
        tmp_path / "LOC_val_solution.csv",
        "ImageId,PredictionString\n"
        f"ILSVRC2012_val_00000003,{GOLDFISH} 10 20 30 40 {GOLDFISH} 1 2 3 4 \n"
        f"ILSVRC2012_val_00000001,{TENCH} 1 2 3 4\n"
        f"ILSVRC2012_val_00000002.JPEG,{TENCH} 5 6 7 8\n",
    )
    assert labels_of(path) == list(zip(FILES, [TENCH, TENCH, GOLDFISH], strict=True))


@pytest.mark.parametrize(
    ("text", "synsets", "expected"),
    [
        (f"{TENCH}\n{GOLDFISH}\n", False, r"ILSVRC2012_val_00000003.JPEG has no label: .*labels.txt ends at line 2"),
        (f"{TENCH}\n{TENCH}\n{TENCH}\n{TENCH}\n", False, r"labels.txt:4: a label for no file: /data/val has 3 image files"),
        (f"{TENCH}\ntench\n{TENCH}\n", False, r"labels.txt:2 \(ILSVRC2012_val_00000002.JPEG\): 'tench' is neither"),
        (f"{TENCH}\n\n{TENCH}\n", False, r"labels.txt:2 \(ILSVRC2012_val_00000002.JPEG\): an empty line"),
        (f"{TENCH}\n{TENCH}\nn09999999\n", True, r"labels.txt:3 \(ILSVRC2012_val_00000003.JPEG\): n09999999 is not a synset"),
        ("1\n2\n1\n", False, r"labels.txt:1 \(ILSVRC2012_val_00000001.JPEG\): 1 is a class index; give the synset list"),
        ("1\n2\n3\n", True, r"labels.txt:3 \(ILSVRC2012_val_00000003.JPEG\): 3 is not a class index of .* \(1..2\)"),
    ],
)  # fmt: skip
def test_a_bad_or_missing_label_is_named_by_file_and_line(tmp_path, loc_mapping, text, synsets, expected):
    path = write(tmp_path / "labels.txt", text)
    with pytest.raises(LabelError, match=expected):
        labels_of(path, synsets_read(loc_mapping) if synsets else None)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (f"ILSVRC2012_val_00000001,{TENCH} 1 2 3 4\nILSVRC2012_val_00000002,{TENCH} 1 2 3 4\n",
         r"ILSVRC2012_val_00000003.JPEG has no label in .*solution.csv"),
        (f"ILSVRC2012_val_00000009,{TENCH} 1 2 3 4\n", r"solution.csv:2: ILSVRC2012_val_00000009 has no image file in /data/val"),
        (f"ILSVRC2012_val_00000001,{TENCH}\nILSVRC2012_val_00000001,{TENCH}\n", r"solution.csv:3: ILSVRC2012_val_00000001 is also on line 2"),
        ("ILSVRC2012_val_00000001,\n", r"solution.csv:2: a row needs an ImageId and a PredictionString"),
        ("ILSVRC2012_val_00000001,dog 1 2 3 4\n", r"solution.csv:2 \(ILSVRC2012_val_00000001.JPEG\): 'dog' is neither"),
    ],
)  # fmt: skip
def test_a_bad_or_missing_csv_row_is_named_by_file_and_line(tmp_path, rows, expected):
    path = write(tmp_path / "solution.csv", "ImageId,PredictionString\n" + rows)
    with pytest.raises(LabelError, match=expected):
        labels_of(path)


def test_every_problem_is_counted_and_the_first_ones_shown(tmp_path):
    files = [f"f{i:03d}.png" for i in range(30)]
    path = write(tmp_path / "labels.txt", "dog\n" * 30)
    with pytest.raises(LabelError) as raised:
        labels_of(path, files=files)
    message = str(raised.value)
    assert "30 bad or missing labels" in message and "labels.txt:1 (f000.png)" in message and "and 20 more" in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("LOC_synset_mapping.txt", f"{TENCH} tench\ntench n01443537\n", r"LOC_synset_mapping.txt:2: expected 'wnid description'"),
        ("LOC_synset_mapping.txt", f"{TENCH} tench\n{TENCH} tench again\n", r"LOC_synset_mapping.txt:2: n01440764 is also on line 1"),
        ("meta.mat", "not a MATLAB file", r"meta.mat: not readable as the devkit's meta.mat"),
    ],
)  # fmt: skip
def test_a_bad_synset_file_is_named_by_file_and_line(tmp_path, name, content, expected):
    with pytest.raises(LabelError, match=expected):
        synsets_read(write(tmp_path / name, content))
    with pytest.raises(LabelError, match="no such file"):
        synsets_read(tmp_path / "missing.txt")
