"""Where browsers report Content-Security-Policy violations: one JSON log line per violation.

The policy (kb/settings.py) names this endpoint twice: `report-to` with the
`Reporting-Endpoints` header (kb/headers.py), which current Chromium uses and
which sends `application/reports+json` (a list of reports, possibly batched),
and `report-uri`, the fallback Firefox and Safari use, which sends
`application/csp-report` (one `{"csp-report": {...}}` a request).

Anyone can post here, so what a post can cost is bounded before anything is
logged: the body is read only up to CSP_REPORT_MAX_BYTES (413 past it), each
client address gets CSP_REPORT_RATE_PER_MINUTE posts and the whole site
CSP_REPORT_SITE_RATE_PER_MINUTE (429 past either; kb/throttle.py, in Redis),
only the fields an operator needs are kept, each cut to a few hundred
characters, and a post carries at most CSP_REPORT_MAX_PER_POST reports.
Nothing here touches the database, so reports are taken during an outage too.
"""

import json
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kb import throttle

logger = logging.getLogger("kb.csp")

REPORTING_API = "application/reports+json"
LEGACY = "application/csp-report"
# Some older browsers and tools send the legacy body as plain JSON.
ACCEPTED = {REPORTING_API, LEGACY, "application/json"}

# Field names: the Reporting API's camelCase body, then the legacy hyphenated ones.
FIELDS = {
    "document_url": ("documentURL", "document-uri"),
    "blocked_url": ("blockedURL", "blocked-uri"),
    "effective_directive": ("effectiveDirective", "effective-directive", "violated-directive"),
    "disposition": ("disposition",),
    "source_file": ("sourceFile", "source-file"),
    "line_number": ("lineNumber", "line-number"),
    "column_number": ("columnNumber", "column-number"),
    "status_code": ("statusCode", "status-code"),
    "referrer": ("referrer",),
    "sample": ("sample", "script-sample"),
}
NUMBERS = {"line_number", "column_number", "status_code"}
MAX_FIELD_CHARS = 300


def _empty(status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Cache-Control"] = "no-store"
    return response


def _field(name: str, value):
    if name in NUMBERS:
        is_number = isinstance(value, int) and not isinstance(value, bool)
        return value if is_number and 0 <= value < 2**31 else None
    return value[:MAX_FIELD_CHARS] if isinstance(value, str) else None


def violation(body: dict) -> dict:
    """The fields worth logging from one report's body, whichever format it came in."""
    found = {}
    for name, keys in FIELDS.items():
        for key in keys:
            value = _field(name, body.get(key))
            if value is not None:
                found[name] = value
                break
    return found


def violations(content_type: str, payload) -> list[dict] | None:
    """The violations a post carries, or None when it is not a report in the format it claims."""
    if content_type == REPORTING_API:
        if not isinstance(payload, list):
            return None
        # Other kinds of report (deprecations, interventions) are not ours to log; a batch may mix them.
        bodies = [
            report["body"]
            for report in payload
            if isinstance(report, dict)
            and report.get("type") == "csp-violation"
            and isinstance(report.get("body"), dict)
        ]
        found = (violation(body) for body in bodies[: settings.CSP_REPORT_MAX_PER_POST])
        return [entry for entry in found if entry]
    body = payload.get("csp-report") if isinstance(payload, dict) else None
    entry = violation(body) if isinstance(body, dict) else None
    return [entry] if entry else None


def _rate_limited(request) -> bool:
    per_minute, site_per_minute = settings.CSP_REPORT_RATE_PER_MINUTE, settings.CSP_REPORT_SITE_RATE_PER_MINUTE
    client = throttle.client_address(request)
    return (
        throttle.wait_seconds(client, rate=per_minute, burst=max(1, per_minute // 2), scope="csp-report") > 0
        or throttle.wait_seconds("all", rate=site_per_minute, burst=max(1, site_per_minute // 10), scope="csp-site") > 0
    )


@csrf_exempt
@require_POST
def receive(request):
    limit = settings.CSP_REPORT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _empty(400)
    if declared > limit:
        return _empty(413)
    if request.content_type not in ACCEPTED:
        return _empty(415)
    if _rate_limited(request):
        return _empty(429)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _empty(413)
    try:
        found = violations(request.content_type, json.loads(body))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        found = None
    if found is None:
        return _empty(400)
    source = "report-to" if request.content_type == REPORTING_API else "report-uri"
    for entry in found:
        logger.warning(
            "CSP violation: %s blocked %s",
            entry.get("effective_directive", "?"),
            entry.get("blocked_url", "?"),
            extra={"csp_violation": entry, "report_via": source},
        )
    return _empty(204)
