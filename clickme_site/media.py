"""Uploaded media: served images are public; training curves need a researcher; the rest (masks,
partner artifacts, checkpoints, logs, export files) is for staff only (exports have their own download)."""

import re

from django.conf import settings
from django.http import Http404
from django.views.static import serve
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

PUBLIC = re.compile(r"^images/")
RESEARCH = re.compile(r"^training/[^/]+/curves\.png$")


def _researcher(request):
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def media(request, path):
    """MEDIA_ROOT is read per request, so settings overrides apply; what a caller may not see is a 404."""
    if PUBLIC.match(path):
        allowed = True
    elif RESEARCH.match(path):
        allowed = _researcher(request) is not None
    else:
        allowed = request.user.is_authenticated and request.user.is_staff
    if not allowed:
        raise Http404("no such file")
    return serve(request, path, document_root=settings.MEDIA_ROOT)
