"""kb.wsgi.application as a WSGI server calls it: the real app, real database."""

import pytest
from django.core.signals import request_finished

from tests.wsgi_client import call

pytestmark = pytest.mark.django_db


def test_head_gets_the_headers_of_get_and_no_body(article_factory):
    article = article_factory()
    path = article.get_absolute_url()
    get_status, get_headers, get_body = call("GET", path)
    head_status, head_headers, head_body = call("HEAD", path)
    assert get_status == head_status == "200 OK"
    assert get_body and head_body == b""
    assert head_headers["Content-Type"] == get_headers["Content-Type"]
    assert head_headers["ETag"] == get_headers["ETag"]


def test_head_of_a_missing_page_is_a_bodiless_404():
    status, _headers, body = call("HEAD", "/articles/no-such-article/")
    assert (status, body) == ("404 Not Found", b"")


def test_head_still_finishes_the_request():
    finished = []

    def receiver(**kwargs):
        finished.append(True)

    request_finished.connect(receiver)
    try:
        call("HEAD", "/livez")
    finally:
        request_finished.disconnect(receiver)
    assert finished
