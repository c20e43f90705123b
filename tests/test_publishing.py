from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article

pytestmark = pytest.mark.django_db


def test_published_article_with_past_date_is_public(article_factory):
    article = article_factory()
    assert list(Article.objects.published()) == [article]


def test_draft_is_not_public_even_with_a_past_date(article_factory):
    article_factory(status=Article.Status.DRAFT, published_at=timezone.now() - timedelta(days=1))
    assert not Article.objects.published().exists()


def test_published_without_a_date_is_not_public(article_factory):
    # save_article() dates a publish; a row written around it must still not leak.
    article = article_factory()
    Article.objects.filter(pk=article.pk).update(published_at=None)
    assert not Article.objects.published().exists()


def test_scheduled_article_is_not_public_until_its_time(article_factory):
    article = article_factory(scheduled=True)
    assert not Article.objects.published().exists()

    # The clock passing published_at is all it takes: no job, no save.
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    assert list(Article.objects.published()) == [article]


def test_draft_is_404_for_anonymous(client, article_factory):
    article = article_factory(draft=True)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_scheduled_article_is_404_for_anonymous(client, article_factory):
    article = article_factory(scheduled=True)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_scheduled_article_appears_in_listing_when_its_time_comes(client, article_factory):
    article = article_factory(scheduled=True)
    url = article.category.get_absolute_url()
    assert article.slug not in client.get(url).content.decode()

    Article.objects.filter(pk=article.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    response = client.get(url)
    assert f'data-article="{article.slug}"' in response.content.decode()
    assert client.get(article.get_absolute_url()).status_code == 200


def test_drafts_never_appear_in_listings_or_tag_pages(client, article_factory):
    public = article_factory(tags=["api"])
    draft = article_factory(draft=True, category=public.category, tags=["api"])
    for url in [public.category.get_absolute_url(), reverse("articles:tag", args=["api"]), reverse("articles:home")]:
        html = client.get(url).content.decode()
        assert public.slug in html
        assert draft.slug not in html


def test_tag_used_only_by_drafts_is_404(client, article_factory):
    article_factory(draft=True, tags=["secret-project"])
    assert client.get(reverse("articles:tag", args=["secret-project"])).status_code == 404


def test_staff_see_a_draft_with_a_not_published_banner(client, article_factory, staff_user):
    article = article_factory(draft=True)
    client.force_login(staff_user)
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert "Not published." in response.content.decode()


def test_public_article_has_no_banner(client, article_factory):
    article = article_factory()
    assert "Not published." not in client.get(article.get_absolute_url()).content.decode()


def test_category_counts_on_home_count_only_public_articles(client, article_factory, category):
    article_factory.create_batch(3, category=category)
    article_factory(category=category, draft=True)
    article_factory(category=category, scheduled=True)
    html = client.get(reverse("articles:home")).content.decode()
    assert "3 articles" in html


def test_state_labels_drafts_scheduled_and_published(article_factory):
    assert article_factory(draft=True).state == "Draft"
    assert article_factory(scheduled=True).state == "Scheduled"
    assert article_factory().state == "Published"
