"""Response headers Django has no setting for, and the favicon at the address browsers and crawlers ask for.

- `Permissions-Policy` turns off the browser features the site never uses
  (PERMISSIONS_POLICY), so nothing injected into a page can ask for the
  camera, a payment or a USB device. Every feature named is one Chromium
  recognises: an unknown one costs a console warning on every page
  (tests/browser/test_permissions_policy.py checks it with Debian's chromium).
- `Cross-Origin-Resource-Policy: same-origin`: no other site can load our
  responses into its pages (Spectre-style reads). Public images are the
  exception, `cross-origin`: a social card, the favicon or a picture in a feed
  item is meant to be shown elsewhere (a web feed reader's page, a site with
  Cross-Origin-Embedder-Policy). Link-preview crawlers fetch from their
  servers, where CORP does not apply.
- `Reporting-Endpoints`: where `report-to` in the CSP sends violations
  (kb/csp_reports.py).

A view that sets a header itself keeps its own value.
"""

from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe


@cache
def permissions_policy() -> str:
    return ", ".join(
        f"{feature}=({' '.join(allowed)})" for feature, allowed in sorted(settings.PERMISSIONS_POLICY.items())
    )


@cache
def reporting_endpoints() -> str:
    # Relative: the browser resolves it against the page's URL, so a cached page serves every host name.
    return f'{settings.CSP_REPORT_GROUP}="{reverse("csp-report")}"'


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        headers = response.headers
        if "Permissions-Policy" not in headers:
            headers["Permissions-Policy"] = permissions_policy()
        if "Cross-Origin-Resource-Policy" not in headers:
            public_image = headers.get("Content-Type", "").startswith("image/") and response.status_code == 200
            headers["Cross-Origin-Resource-Policy"] = "cross-origin" if public_image else "same-origin"
        if settings.CSP_REPORTS and "Reporting-Endpoints" not in headers:
            headers["Reporting-Endpoints"] = reporting_endpoints()
        return response


@cache
def _favicon() -> bytes:
    return open(finders.find("favicon.ico"), "rb").read()  # noqa: SIM115 (read once, kept)


@require_safe
def favicon(request):
    """/favicon.ico: browsers and crawlers ask for it there whatever the page's <link rel="icon"> says."""
    response = HttpResponse(_favicon(), content_type="image/vnd.microsoft.icon")
    # Not a hashed name: the file may change under this address, so not `immutable`.
    response["Cache-Control"] = "public, max-age=86400"
    return response
