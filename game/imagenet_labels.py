"""ImageNet's label files as researchers have them: synset lists (LOC_synset_mapping.txt, the devkit's
data/meta.mat) and the labels of a flat folder (one label a line in file order, or LOC_val_solution.csv)."""

import csv
import io
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

WNID_RE = re.compile(r"^n\d{8}$")
INDEX_RE = re.compile(r"^\d+$")
MAX_ERRORS_SHOWN = 10


class LabelError(ValueError):
    """A label or synset file that cannot be used as it is; the message names the file and the line."""


@dataclass(frozen=True)
class Synset:
    wnid: str
    name: str  # its first name: "tench" of "tench, Tinca tinca"


@dataclass(frozen=True)
class SynsetTable:
    """Synsets by class index: a synset list's line number (from 1), or the devkit's ILSVRC2012_ID."""

    source: Path
    by_index: dict[int, Synset]
    indexed_by: str  # "line" or "ILSVRC2012_ID"

    def name_of(self, wnid: str) -> str:
        return self.names.get(wnid, wnid)

    @cached_property
    def names(self) -> dict[str, str]:
        """{wnid: name}"""
        return {synset.wnid: synset.name for synset in self.by_index.values()}


@dataclass(frozen=True)
class FileLabel:
    file_name: str
    wnid: str
    line: int  # the label's line in the label file


def _first_name(words: str, wnid: str) -> str:
    return words.split(",")[0].strip() or wnid


def _synsets_from_lines(path: Path) -> SynsetTable:
    by_index: dict[int, Synset] = {}
    first_line: dict[str, int] = {}
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        wnid, _, words = line.strip().partition(" ")
        if not WNID_RE.match(wnid):
            raise LabelError(
                f"{path}:{number}: expected 'wnid description' (as LOC_synset_mapping.txt: "
                f"'n01440764 tench, Tinca tinca'), got {line.strip()[:60]!r}"
            )
        if wnid in first_line:
            raise LabelError(f"{path}:{number}: {wnid} is also on line {first_line[wnid]}")
        first_line[wnid] = number
        by_index[number] = Synset(wnid, _first_name(words, wnid))
    if not by_index:
        raise LabelError(f"{path}: no synsets in it")
    return SynsetTable(source=path, by_index=by_index, indexed_by="line")


def _synsets_from_devkit(path: Path) -> SynsetTable:
    """The ILSVRC2012 devkit's data/meta.mat: a struct array `synsets` with ILSVRC2012_ID, WNID, words
    and num_children; the 1,000 classes are its leaves (num_children 0)."""
    from scipy.io import loadmat

    try:
        records = loadmat(str(path), squeeze_me=True)["synsets"]
        fields = records.dtype.names or ()
    except Exception as error:  # scipy raises several kinds for a file that is not a MATLAB file
        raise LabelError(f"{path}: not readable as the devkit's meta.mat ({error})") from error
    needed = ("ILSVRC2012_ID", "WNID", "words", "num_children")
    if not set(needed) <= set(fields):
        raise LabelError(f"{path}: not the devkit's meta.mat (its `synsets` needs the fields {', '.join(needed)})")
    by_index: dict[int, Synset] = {}
    for record in records.reshape(-1):
        if int(record["num_children"]) == 0:
            wnid = str(record["WNID"])
            by_index[int(record["ILSVRC2012_ID"])] = Synset(wnid, _first_name(str(record["words"]), wnid))
    if not by_index:
        raise LabelError(f"{path}: its `synsets` has no leaf class (num_children 0)")
    return SynsetTable(source=path, by_index=by_index, indexed_by="ILSVRC2012_ID")


def synsets_read(path: Path | str) -> SynsetTable:
    """A synset list, one `wnid [description]` a line whose line number (from 1) is the class index
    (LOC_synset_mapping.txt, synsets.txt), or the devkit's meta.mat (indexed by ILSVRC2012_ID)."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: no such file")
    return _synsets_from_devkit(path) if path.suffix.lower() == ".mat" else _synsets_from_lines(path)


class _Errors:
    """The label file's problems, all of them found before any is reported (the first few shown)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_any(self, labels_path: Path) -> None:
        if not self.messages:
            return
        shown = self.messages[:MAX_ERRORS_SHOWN]
        if len(self.messages) > len(shown):
            shown.append(f"... and {len(self.messages) - len(shown)} more")
        heading = f"{labels_path}: {len(self.messages)} bad or missing labels:"
        raise LabelError("\n".join([heading, *shown]))


def _wnid_of(token: str, where: str, synsets: SynsetTable | None, errors: _Errors) -> str | None:
    """The wnid a label names: a wnid itself, or a class index of the synset table."""
    if WNID_RE.match(token):
        if synsets is not None and token not in synsets.names:
            errors.add(f"{where}: {token} is not a synset of {synsets.source}")
            return None
        return token
    if INDEX_RE.match(token):
        if synsets is None:
            errors.add(
                f"{where}: {token} is a class index; give the synset list it indexes (--synsets: "
                "LOC_synset_mapping.txt for indexes in its line order, the devkit's data/meta.mat for ILSVRC2012_IDs)"
            )
            return None
        synset = synsets.by_index.get(int(token))
        if synset is None:
            low, high = min(synsets.by_index), max(synsets.by_index)
            errors.add(f"{where}: {token} is not a class index of {synsets.source} ({low}..{high})")
            return None
        return synset.wnid
    errors.add(f"{where}: {token[:60]!r} is neither a wnid (n01440764) nor a class index")
    return None


def _devkit_ids_against_a_line_list(labels_path: Path, synsets: SynsetTable | None) -> bool:
    """ILSVRC2012_validation_ground_truth.txt holds ILSVRC2012_IDs (1 is n02119789, kit fox), not the line
    order of LOC_synset_mapping.txt (1 is n01440764, tench): read against a line list, every label is wrong."""
    return synsets is not None and synsets.indexed_by == "line" and "ground_truth" in labels_path.name.lower()


def _labels_by_line(
    text: str, labels_path: Path, folder: Path, file_names: list[str], synsets: SynsetTable | None
) -> list[FileLabel]:
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if _devkit_ids_against_a_line_list(labels_path, synsets) and any(INDEX_RE.match(line.strip()) for line in lines):
        raise LabelError(
            f"{labels_path}: the devkit's ground truth holds ILSVRC2012_IDs, not the line order of a synset "
            "list such as LOC_synset_mapping.txt: give --synsets the devkit's data/meta.mat"
        )
    errors = _Errors()
    labels = []
    for number, (line, file_name) in enumerate(zip(lines, file_names, strict=False), start=1):
        token = line.strip()
        where = f"{labels_path}:{number} ({file_name})"
        if not token:
            errors.add(f"{where}: an empty line (one label a line, in the folder's file order)")
            continue
        wnid = _wnid_of(token, where, synsets, errors)
        if wnid is not None:
            labels.append(FileLabel(file_name=file_name, wnid=wnid, line=number))
    if len(lines) > len(file_names):
        errors.add(
            f"{labels_path}:{len(file_names) + 1}: a label for no file: {folder} has {len(file_names)} image "
            f"files and the file {len(lines)} lines (one label a line, in the folder's file order)"
        )
    elif len(lines) < len(file_names):
        errors.add(
            f"{folder / file_names[len(lines)]} has no label: {labels_path} ends at line {len(lines)} and "
            f"{folder} has {len(file_names)} image files (one label a line, in the folder's file order)"
        )
    errors.raise_any(labels_path)
    return labels


def _labels_by_image_id(
    text: str, labels_path: Path, folder: Path, file_names: list[str], synsets: SynsetTable | None
) -> list[FileLabel]:
    """LOC_val_solution.csv: `ImageId,PredictionString`, the ImageId a file's name without its suffix
    (or with it), the first token of PredictionString its wnid ("n01751748 x1 y1 x2 y2 n01751748 ...")."""
    by_id: dict[str, str] = {}
    for name in file_names:
        by_id.setdefault(Path(name).stem, name)
        by_id[name] = name
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader)]
    if "imageid" not in header or "predictionstring" not in header:
        raise LabelError(f"{labels_path}:1: expected the header ImageId,PredictionString")
    id_column, label_column = header.index("imageid"), header.index("predictionstring")
    errors = _Errors()
    found: dict[str, FileLabel] = {}
    line_of: dict[str, int] = {}
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        image_id = row[id_column].strip() if len(row) > id_column else ""
        tokens = row[label_column].split() if len(row) > label_column else []
        if not image_id or not tokens:
            errors.add(f"{labels_path}:{number}: a row needs an ImageId and a PredictionString")
            continue
        file_name = by_id.get(image_id)
        if file_name is None:
            errors.add(f"{labels_path}:{number}: {image_id} has no image file in {folder}")
            continue
        if file_name in line_of:
            errors.add(f"{labels_path}:{number}: {image_id} is also on line {line_of[file_name]}")
            continue
        line_of[file_name] = number
        wnid = _wnid_of(tokens[0], f"{labels_path}:{number} ({file_name})", synsets, errors)
        if wnid is not None:
            found[file_name] = FileLabel(file_name=file_name, wnid=wnid, line=number)
    errors.messages.extend(
        f"{folder / name} has no label in {labels_path}" for name in file_names if name not in line_of
    )
    errors.raise_any(labels_path)
    return [found[name] for name in file_names]


def folder_labels(
    *, folder: Path, file_names: list[str], labels_path: Path | str, synsets: SynsetTable | None = None
) -> list[FileLabel]:
    """The label of every file of a flat folder (`file_names` sorted, the order the label lines follow),
    in that order. `labels_path` holds one label a line (a wnid, or a class index of `synsets`: the
    devkit's ILSVRC2012_validation_ground_truth.txt) or is a `ImageId,PredictionString` CSV
    (LOC_val_solution.csv). LabelError, naming the file and line of each problem, unless every file
    has exactly one good label."""
    labels_path = Path(labels_path)
    try:
        text = labels_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise LabelError(f"{labels_path}: cannot be read as a label file ({error})") from error
    if not text.strip():
        raise LabelError(f"{labels_path}: empty")
    if text.split("\n", 1)[0].strip().lower().startswith("imageid,"):
        return _labels_by_image_id(text, labels_path, folder, file_names, synsets)
    return _labels_by_line(text, labels_path, folder, file_names, synsets)
