"""Contract tests: schemathesis generates requests from /api/v1/openapi.json and
checks every response against that same document.

It talks to Django's WSGI application directly (no server), inside the test's
transaction, with the 52 seed articles plus a draft and a scheduled article.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app():
    # Like Django's test client: the requests share the test's transaction, so
    # the end of a request must not close (and so roll back) its connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(seeded, article_factory, wsgi_app):
    article_factory(slug="a-draft", draft=True, tags=["security"])
    article_factory(slug="a-scheduled-one", scheduled=True, tags=["draft-only-tag"])
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)


OPERATIONS = ["/api/v1/", "/api/v1/articles", "/api/v1/articles/{slug}", "/api/v1/categories", "/api/v1/tags"]


VALID, INVALID = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# Invalid requests only exist for operations that take parameters.
CASES = [(path, VALID) for path in OPERATIONS] + [("/api/v1/articles", INVALID), ("/api/v1/articles/{slug}", INVALID)]


# One hypothesis run per operation and mode, built from the operation's own
# strategy (schemathesis' pytest plugin is not used: it does not support pytest 9).
@pytest.mark.parametrize(("path", "mode"), CASES, ids=[f"{path}-{mode.value}" for path, mode in CASES])
def test_every_api_response_matches_the_openapi_document_and_none_is_a_server_error(api_schema, path, mode):
    operation = api_schema[path]["GET"]
    checks = CHECKS if mode is VALID else [*CHECKS, negative_data_rejection]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        # schemathesis' WSGI transport asks for gzip and brotli like requests does but never
        # decodes a body; compression is tested in tests/test_compression.py.
        case.call_and_validate(checks=checks, headers={"Accept-Encoding": "identity"})

    run()


def test_the_contract_covers_every_operation_of_the_api(client):
    document = client.get("/api/v1/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert sorted(document["paths"]) == sorted(OPERATIONS)
    assert all(set(item) == {"get"} for item in document["paths"].values())
