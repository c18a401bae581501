"""/media/: only served images are public (MEDIA_ROOT/images/). Training curves, the one research file,
are served to a researcher (token or session) from PRIVATE_ROOT at /media/training/<job>/curves.png.
Nothing else under PRIVATE_ROOT has a URL here; exports have their own authorised download.

The access check runs on the decoded, normalised path: any `..` or `.` segment, backslash, empty
segment, percent sign or NUL is refused (404), and the resolved file must lie inside the public folder.
"""

import posixpath
import re
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.views.static import serve
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .private_files import private_file_response

PUBLIC_PREFIX = "images/"
CURVES = re.compile(r"^training/(?P<job>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/curves\.png$")
FORBIDDEN = ("\\", "%", "\x00")


def _researcher(request):
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def clean_media_path(path: str) -> str | None:
    """The path when it is already normal and plain, else None (the caller answers 404)."""
    if not path or any(bad in path for bad in FORBIDDEN) or path.startswith("/"):
        return None
    segments = path.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return None
    normal = posixpath.normpath(path)
    return normal if normal == path else None


def _inside(root: Path, path: str) -> bool:
    base = root.resolve()
    return (base / path).resolve().is_relative_to(base)


def media(request, path):
    """MEDIA_ROOT and PRIVATE_ROOT are read per request, so settings overrides apply; refused is a 404."""
    clean = clean_media_path(path)
    if clean is None:
        raise Http404("no such file")
    if clean.startswith(PUBLIC_PREFIX) and _inside(
        Path(settings.MEDIA_ROOT) / PUBLIC_PREFIX, clean[len(PUBLIC_PREFIX) :]
    ):
        return serve(request, clean, document_root=str(settings.MEDIA_ROOT))
    if CURVES.match(clean) and _researcher(request) is not None:
        return private_file_response(clean, content_type="image/png")
    raise Http404("no such file")
