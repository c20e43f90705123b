"""The Permissions-Policy in Debian's chromium: every feature named is one it knows, and each is off."""

import pytest
from django.urls import reverse

from articles.models import Article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_chromium_recognises_every_feature_and_turns_each_off(site, page):
    from django.conf import settings

    warnings = []
    page.page.on("console", lambda message: warnings.append(message.text))
    article = Article.objects.published().first()
    for url in [reverse("articles:home"), article.get_absolute_url(), reverse("admin:login")]:
        assert page.goto(url).status == 200
        page.page.wait_for_load_state("networkidle")
        known = set(page.page.evaluate("() => document.featurePolicy.features()"))
        allowed = set(page.page.evaluate("() => document.featurePolicy.allowedFeatures()"))
        assert set(settings.PERMISSIONS_POLICY) <= known, url
        assert not set(settings.PERMISSIONS_POLICY) & allowed, url
    assert [text for text in warnings if "Permissions-Policy" in text] == []
    assert page.console_errors == []
