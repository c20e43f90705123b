"""The search log's two doors (search/analytics.py says why a beacon): the script's POST and the no-script image.

Both are tiny and never cached, answer 204 (or a 1x1 GIF) when recorded, a
4xx for anything wrong, and 503 when the database cannot take the row; the
page that sent them never waits for the answer. No CSRF token: the page is the
same cached bytes for every reader, so it cannot carry one, and there is
nothing to forge on a reader's behalf (no session is read or written, the
token is signed by the server). Requests another site's page makes are
refused all the same (Sec-Fetch-Site, Origin).
"""

import base64
import logging
import uuid

from django import forms
from django.core.validators import RegexValidator
from django.db import DatabaseError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from kb.throttle import client_address
from search import analytics

logger = logging.getLogger("search.analytics")

MAX_BODY_BYTES = 4096
# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class BeaconForm(forms.Form):
    t = forms.CharField(max_length=analytics.MAX_TOKEN_CHARS)
    v = forms.CharField(
        required=False, validators=[RegexValidator(r"\A[0-9a-f]{32}\Z", "A view id is 32 hexadecimal digits.")]
    )
    i = forms.IntegerField(required=False, min_value=0, max_value=999)

    def clean(self):
        data = super().clean()
        if data.get("i") is not None and not data.get("v"):
            raise forms.ValidationError("An opened result needs its page view's id.")
        return data


def _answer(status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8", **headers):
    response = HttpResponse(body, status=status, content_type=content_type, headers=headers)
    response["Cache-Control"] = "no-store"
    return response


def _foreign(request) -> bool:
    """Sent by another site's page: browsers say so (Sec-Fetch-Site, Origin); a missing header is allowed."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.get_host()}"


def _record(request, data, *, pixel: bool) -> HttpResponse:
    ok = _answer(200, PIXEL, "image/gif") if pixel else _answer(204)
    if not analytics.enabled():
        return ok
    if not analytics.allow(client_address(request)):
        return _answer(
            429, b"Too many searches recorded from your address; try again in a minute.", **{"Retry-After": "60"}
        )
    view = uuid.UUID(hex=data["v"]) if data.get("v") else None
    try:
        if data.get("i") is None:
            analytics.record_search(data["t"], view)
        else:
            analytics.record_click(data["t"], view, data["i"])
        analytics.purge_now_and_then()
    except analytics.InvalidBeacon as error:
        return _answer(400, f"Not recorded: {error}.".encode())
    except DatabaseError:
        logger.warning("Search log: the database could not take the row", exc_info=True)
        return _answer(503, b"Not recorded: the database is unavailable.", **{"Retry-After": "30"})
    return ok


@csrf_exempt
@require_POST
def beacon(request):
    """The page's script: `t` (the page's token) and `v` (this view's id); with `i`, the result opened."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _answer(400, b"Bad Content-Length.")
    if length > MAX_BODY_BYTES:
        return _answer(413, b"A search beacon is a few hundred bytes.")
    if _foreign(request):
        return _answer(403, b"Searches are recorded from this site's own pages only.")
    form = BeaconForm(request.POST)
    if not form.is_valid():
        return _answer(400, f"Not recorded: {form.errors.as_text()}".encode())
    return _record(request, form.cleaned_data, pixel=False)


@require_GET
def pixel(request):
    """The no-script image: `t` only. A search is recorded; opened results cannot be seen without a script."""
    if _foreign(request):
        return _answer(403, b"Searches are recorded from this site's own pages only.")
    form = BeaconForm({"t": request.GET.get("t", "")})
    if not form.is_valid():
        return _answer(400, f"Not recorded: {form.errors.as_text()}".encode())
    return _record(request, form.cleaned_data, pixel=True)
