"""/media/: only served images are public (MEDIA_ROOT/images/). Training curves, the one research file,
are served from PRIVATE_ROOT at /media/training/<job uuid>/curves.png by training/api.py `job_curves` (routed
before this view in clickme_site/urls.py: to whom the job's models may be shown, with `researcher` below).
Nothing else under PRIVATE_ROOT has a URL here; exports have their own authorised download.

The access check runs on the decoded, normalised path: any `..` or `.` segment, backslash, empty
segment, percent sign or NUL is refused (404), and the resolved file must lie inside the public folder.
"""

import posixpath
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.views.static import serve
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

PUBLIC_PREFIX = "images/"
FORBIDDEN = ("\\", "%", "\x00")


def researcher(request):
    """The user of the request's session or API token, or None (a bad token is no user, not an error)."""
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
    raise Http404("no such file")
