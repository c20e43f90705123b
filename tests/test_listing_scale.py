"""Listing pages at scale (#14): what a card costs, and what a page keeps in memory."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from articles.listing import card_dates

pytestmark = pytest.mark.django_db

FILTERED = Template("{{ moment|date:'Y-m-d\\TH:i:sO' }}|{{ moment|date:'j M Y' }}")


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/St_Johns", "Asia/Kathmandu"])
@pytest.mark.parametrize("language", ["en-gb", "de"])
def test_card_dates_are_the_strings_the_date_filter_writes(zone, language):
    moments = [datetime(2026, month, 28 - month, 23, 59, 1, tzinfo=UTC) for month in range(1, 13)]
    moments += [datetime(2025, 3, 30, 0, 30, tzinfo=UTC) + timedelta(hours=h) for h in range(3)]  # DST changes
    with timezone.override(ZoneInfo(zone)), translation.override(language):
        for moment in moments:
            assert "|".join(card_dates(moment)) == FILTERED.render(Context({"moment": moment})), moment


def test_a_listing_page_shows_each_card_date_once_and_never_a_deferred_field(client, article_factory, category):
    article = article_factory(category=category, published_at=datetime(2024, 2, 9, 8, 5, tzinfo=UTC))
    response = client.get(reverse("articles:category", args=[category.slug]))
    assert response.status_code == 200
    assert '<time datetime="2024-02-09T08:05:00+0000">9 Feb 2024</time>' in response.content.decode()
    assert response.context["view"].object_list == [article]  # the page, never the listing's whole queryset
