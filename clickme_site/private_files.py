"""Private files (ground-truth masks, exports, partner artifacts, checkpoints, job logs, curves) live
under PRIVATE_ROOT, outside MEDIA_ROOT, so no public URL can reach them whatever the path says.

`private_storage` is the storage of model fields holding such files; `private_path` builds their paths;
`private_file_response` sends one to a caller a view has already authorised (X-Accel-Redirect with
nginx when CLICKME_X_ACCEL_REDIRECT_PREFIX is set, else streamed by Django).
"""

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.deconstruct import deconstructible


@deconstructible
class PrivateStorage(FileSystemStorage):
    """A FileSystemStorage rooted at settings.PRIVATE_ROOT (read on use, so overrides apply) and with no URL."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("private files have no public URL")


_storage = PrivateStorage()


def private_storage() -> PrivateStorage:
    """The storage of private file fields (a callable, so migrations name it rather than a path)."""
    return _storage


def private_root() -> Path:
    return Path(settings.PRIVATE_ROOT)


def private_path(*parts: str) -> Path:
    """PRIVATE_ROOT / parts; ValueError for a part that would climb out of it."""
    root = private_root().resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{'/'.join(parts)!r} is outside the private root")
    return path


def private_relative(path: Path) -> str:
    """The name of a file under PRIVATE_ROOT as stored in the database (relative to PRIVATE_ROOT)."""
    return str(Path(path).resolve().relative_to(private_root().resolve()))


def private_file_response(
    relative: str, *, filename: str | None = None, as_attachment: bool = False, content_type: str | None = None
) -> HttpResponseBase:
    """The private file `relative` (already authorised by the caller); 404 when it is not there."""
    try:
        path = private_path(relative)
    except ValueError:
        raise Http404("no such file") from None
    if not path.is_file():
        raise Http404("no such file")
    filename = filename or path.name
    prefix = settings.CLICKME_X_ACCEL_REDIRECT_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type or "application/octet-stream")
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + private_relative(path)
        disposition = "attachment" if as_attachment else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
        return response
    return FileResponse(open(path, "rb"), as_attachment=as_attachment, filename=filename, content_type=content_type)


# Folders that older versions kept under MEDIA_ROOT and that belong under PRIVATE_ROOT (same names).
PRIVATE_FOLDERS = ("masks", "exports", "training", "partners")


def private_files_move(media_root: Path, private_root: Path) -> dict[str, int]:
    """Move every private folder's files from media_root to private_root (same relative names; a file
    already at its destination is kept and the old copy removed). Returns files moved per folder."""
    moved = {}
    for folder in PRIVATE_FOLDERS:
        source = Path(media_root) / folder
        count = 0
        if source.is_dir():
            for path in sorted(p for p in source.rglob("*") if p.is_file() or p.is_symlink()):
                target = Path(private_root) / path.relative_to(media_root)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    path.unlink()
                else:
                    shutil.move(str(path), str(target))
                count += 1
            shutil.rmtree(source, ignore_errors=True)
        moved[folder] = count
    return moved
