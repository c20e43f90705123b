"""Kept counts per category and tag (articles/counts.py) and keyset pages (articles/listing.py).

The counts must always equal what `Article.objects.published()` counts: after
saves, publishing, unpublishing, deletes, tag changes, bulk writes that bypass
the models, and when a scheduled article's time comes with nothing saved.
"""

from datetime import timedelta

import pytest
from django.core.paginator import EmptyPage
from django.utils import timezone
from taggit.models import Tag

from articles import counts, services
from articles.listing import Listing, ListingPaginator
from articles.models import Article, Category, ListingCount
from articles.querysets import public_tags
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def snapshot():
    return sorted(ListingCount.objects.exclude(published=0).values_list("kind", "object_id", "published"))


def assert_counts_are_right():
    public = Article.objects.published()
    for category in Category.objects.all():
        expected = public.filter(category=category).count()
        assert counts.public_count(counts.CATEGORY, category.pk) == expected, category.slug
        assert Listing(category=category).count() == expected
    for tag in Tag.objects.all():
        expected = public.filter(tags=tag).count()
        assert counts.public_count(counts.TAG, tag.pk) == expected, tag.slug
    assert counts.public_total() == public.count()
    assert {c.pk: c.article_count for c in Category.objects.with_public_counts()} == {
        c.pk: public.filter(category=c).count() for c in Category.objects.all()
    }
    assert [(t.slug, t.article_count) for t in public_tags()] == sorted(
        ((t.slug, public.filter(tags=t).count()) for t in Tag.objects.all() if public.filter(tags=t).exists()),
        key=lambda item: (-item[1], Tag.objects.get(slug=item[0]).name),
    )
    # What the triggers kept is what a rebuild from scratch computes.
    kept = snapshot()
    counts.rebuild()
    assert snapshot() == kept


def test_counts_follow_every_kind_of_change(article_factory, category, editor):
    other = CategoryFactory(slug="other", name="Other")
    a = article_factory(category=category, tags=["api", "security"])
    b = article_factory(category=category, tags=["api"])
    draft = article_factory(category=other, draft=True, tags=["api", "drafts-only"])
    scheduled = article_factory(category=other, scheduled=True, tags=["security"])
    assert_counts_are_right()
    assert counts.public_count(counts.TAG, Tag.objects.get(slug="api").pk) == 2

    services.publish_article(article=draft, by=editor, expected_version=draft.version)
    assert_counts_are_right()
    services.unpublish_article(article=a, by=editor, expected_version=a.version)
    assert_counts_are_right()

    b.refresh_from_db()
    b.category = other
    services.save_article(article=b, expected_version=b.version, by=editor)
    assert_counts_are_right()

    b.tags.add("new-tag")
    b.tags.remove("api")
    assert_counts_are_right()
    b.tags.set(["x", "y"])
    assert_counts_are_right()
    b.tags.clear()
    assert_counts_are_right()

    Article.objects.filter(pk=scheduled.pk).update(status=Article.Status.DRAFT)
    assert_counts_are_right()
    Article.objects.filter(pk=scheduled.pk).update(status=Article.Status.PUBLISHED)
    assert_counts_are_right()

    draft.refresh_from_db()
    draft.delete()
    assert_counts_are_right()
    Tag.objects.filter(slug="security").delete()
    assert_counts_are_right()
    Article.objects.all().delete()
    assert_counts_are_right()
    assert snapshot() == []


def test_bulk_writes_that_bypass_the_models_are_counted(category):
    from django.contrib.contenttypes.models import ContentType
    from taggit.models import TaggedItem

    now = timezone.now()
    articles = Article.objects.bulk_create(
        Article(
            title=f"Bulk {n}",
            slug=f"bulk-{n}",
            summary="s",
            body="b",
            category=category,
            status=Article.Status.PUBLISHED if n % 3 else Article.Status.DRAFT,
            published_at=now - timedelta(hours=n) if n % 4 else now + timedelta(hours=n),
        )
        for n in range(1, 40)
    )
    tag = Tag.objects.create(name="bulk", slug="bulk")
    content_type = ContentType.objects.get_for_model(Article)
    TaggedItem.objects.bulk_create(
        TaggedItem(tag=tag, content_type=content_type, object_id=a.pk) for a in articles if a.pk % 2
    )
    assert_counts_are_right()


def test_a_scheduled_article_is_counted_when_its_time_comes_with_nothing_saved(article_factory, category, monkeypatch):
    article_factory(category=category, tags=["api"])
    soon = article_factory(category=category, tags=["api"], published_at=timezone.now() + timedelta(hours=1))
    tag = Tag.objects.get(slug="api")
    assert counts.public_count(counts.CATEGORY, category.pk) == 1
    assert counts.public_count(counts.TAG, tag.pk) == 1
    kept = snapshot()

    later = soon.published_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert snapshot() == kept  # nothing in the database changed…
    assert counts.public_count(counts.CATEGORY, category.pk) == 2  # …and yet it counts now
    assert counts.public_count(counts.TAG, tag.pk) == 2
    assert counts.public_total() == 2
    assert_counts_are_right()


@pytest.fixture
def many(article_factory, category):
    """47 public articles, some sharing a publication time (the id breaks the tie), plus a draft and a scheduled one."""
    base = timezone.now() - timedelta(days=3)
    for n in range(47):
        article_factory(
            category=category,
            published_at=base - timedelta(minutes=n // 3),
            tags=["api"] if n % 2 else ["api", "odd"],
        )
    article_factory(category=category, draft=True, tags=["api"])
    article_factory(category=category, scheduled=True, tags=["api", "odd"])


@pytest.mark.parametrize("per_page", [1, 5, 7, 46, 47, 60])
@pytest.mark.parametrize("which", ["all", "category", "api", "odd"])
def test_every_keyset_page_is_the_same_as_offset_over_the_ordered_listing(many, category, per_page, which):
    listing, expected = {
        "all": (Listing(), Article.objects.published()),
        "category": (Listing(category=category), Article.objects.published().filter(category=category)),
        "api": (Listing(tag=Tag.objects.get(slug="api")), Article.objects.published().filter(tags__slug="api")),
        "odd": (Listing(tag=Tag.objects.get(slug="odd")), Article.objects.published().filter(tags__slug="odd")),
    }[which]
    expected = list(expected.order_by("-published_at", "-id").values_list("pk", flat=True))
    paginator = ListingPaginator(listing, per_page)

    assert paginator.count == len(expected)
    pages = [[a.pk for a in paginator.page(n).object_list] for n in paginator.page_range]
    assert pages == [expected[i : i + per_page] for i in range(0, len(expected), per_page)]
    with pytest.raises(EmptyPage):
        paginator.page(paginator.num_pages + 1)


def test_the_last_page_reads_from_the_oldest_end(many, category):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    paginator = ListingPaginator(Listing(category=category), 10)
    assert paginator.count == 47
    with CaptureQueriesContext(connection) as queries:
        page = paginator.page(5)
    assert len(page.object_list) == 7
    key, rows = (query["sql"] for query in queries.captured_queries)
    # The key of the page's newest article: the 7th from the oldest end, not the 41st from the newest.
    assert "ORDER BY 1 ASC, 2 ASC LIMIT 1 OFFSET 6" in key, key
    assert "OFFSET" not in rows and "LIMIT 7" in rows, rows
