""" "Was this helpful?" (#16): anonymous, CSRF-safe with the page cache on, one answer a day, honeypot, rate limit."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles import feedback as feedback_module
from articles import freshness
from articles.models import Article, Feedback

pytestmark = pytest.mark.django_db

SAME_ORIGIN = {"HTTP_SEC_FETCH_SITE": "same-origin"}


@pytest.fixture(autouse=True)
def page_cache(settings):
    # The article page is cached for anonymous readers, as in production.
    settings.PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def article(article_factory, category, editor):
    return article_factory(title="Retries with backoff", category=category, author=editor)


def answer_url(article):
    return reverse("articles:feedback", args=[article.slug])


def answer(client, article, value="yes", **extra):
    return client.post(answer_url(article), {"helpful": value, "website": ""}, **{**SAME_ORIGIN, **extra})


def test_the_article_page_has_the_question_without_a_token_and_stays_cacheable(client, article):
    page = client.get(article.get_absolute_url())
    html = page.content.decode()
    assert "Was this helpful?" in html
    form = re.search(r'<form method="post" action="([^"]+)" class="feedback-form">(.*?)</form>', html, re.S)
    assert form.group(1) == answer_url(article)
    assert "csrfmiddlewaretoken" not in form.group(2)
    assert "csrftoken" not in page.cookies
    # Served from the cache to the next reader: the same bytes, no cookie, no token.
    again = Client().get(article.get_absolute_url())
    assert again.content == page.content and not again.cookies


def test_a_same_origin_answer_from_the_cached_page_is_recorded_and_redirected(article):
    reader = Client(enforce_csrf_checks=True)
    reader.get(article.get_absolute_url())  # the cached page: no CSRF cookie
    response = answer(reader, article, "yes")
    assert response.status_code == 303
    assert response["Location"].startswith(answer_url(article) + "?")
    assert "no-store" in response["Cache-Control"]
    vote = Feedback.objects.get()
    assert (vote.article, vote.helpful, vote.comment, vote.day) == (article, True, "", timezone.localdate())
    assert "kb_reader" in response.cookies
    thanks = reader.get(response["Location"])
    assert thanks.status_code == 200 and "Your answer was recorded" in thanks.content.decode()
    assert "no-store" in thanks["Cache-Control"]


def test_an_origin_header_from_this_site_is_accepted_too(article):
    reader = Client(enforce_csrf_checks=True)
    response = reader.post(answer_url(article), {"helpful": "no"}, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 303 and Feedback.objects.filter(helpful=False).count() == 1


def test_a_cross_site_answer_records_nothing_and_asks_to_confirm(article):
    reader = Client(enforce_csrf_checks=True)
    response = reader.post(answer_url(article), {"helpful": "no"}, HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 403
    assert "sent from another site" in response.content.decode()
    response = reader.post(answer_url(article), {"helpful": "no"}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not Feedback.objects.exists()


def test_a_browser_that_says_nothing_confirms_with_a_real_csrf_token(article):
    reader = Client(enforce_csrf_checks=True)
    response = reader.post(answer_url(article), {"helpful": "yes"})
    assert response.status_code == 200 and "Please confirm your answer" in response.content.decode()
    assert not Feedback.objects.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)
    confirmed = reader.post(answer_url(article), {"helpful": "yes", "csrfmiddlewaretoken": token})
    assert confirmed.status_code == 303 and Feedback.objects.count() == 1


def test_one_answer_per_reader_article_and_day(article, article_factory):
    reader = Client()
    assert answer(reader, article, "yes").status_code == 303
    second = answer(reader, article, "no")
    assert second.status_code == 303 and "done=already" in second["Location"]
    assert "already told us" in reader.get(second["Location"]).content.decode()
    assert Feedback.objects.count() == 1
    # Another article, or another reader, counts.
    assert answer(reader, article_factory()).status_code == 303
    assert answer(Client(), article).status_code == 303
    assert Feedback.objects.count() == 3


def test_no_ip_address_is_stored(article):
    answer(Client(), article, REMOTE_ADDR="203.0.113.9")
    vote = Feedback.objects.get()
    stored = " ".join(str(value) for value in Feedback.objects.values().get().values())
    assert "203.0.113.9" not in stored
    assert len(vote.voter) == 64


def test_after_no_the_reader_may_add_a_comment_which_flags_the_article_for_review(article):
    reader = Client(enforce_csrf_checks=True)
    thanks_url = answer(reader, article, "no")["Location"]
    page = reader.get(thanks_url)
    html = page.content.decode()
    assert "What was missing or wrong?" in html
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    data = {"csrfmiddlewaretoken": csrf, "token": token, "website": ""}
    too_long = reader.post(answer_url(article), {**data, "comment": "x" * 1001})
    assert too_long.status_code == 400
    assert "Keep the comment to 1,000 characters (it has 1001)" in too_long.content.decode()
    empty = reader.post(answer_url(article), {**data, "comment": "   "})
    assert empty.status_code == 400 and "Write a comment" in empty.content.decode()
    sent = reader.post(answer_url(article), {**data, "comment": "Step 3 no longer works."})
    assert sent.status_code == 303
    assert "sent to the article’s owner" in reader.get(sent["Location"]).content.decode()
    assert Feedback.objects.get().comment == "Step 3 no longer works."
    assert Article.objects.filter(pk=article.pk).filter(freshness.flagged_since_review()).exists()
    # A second comment on the same answer changes nothing.
    reader.post(answer_url(article), {**data, "comment": "Something else"})
    assert Feedback.objects.get().comment == "Step 3 no longer works."


def test_a_comment_needs_the_csrf_token_and_a_valid_answer_token(article):
    reader = Client(enforce_csrf_checks=True)
    answer(reader, article, "no")
    forged = reader.post(answer_url(article), {"comment": "spam", "token": "x"}, **SAME_ORIGIN)
    assert forged.status_code == 403 and not Feedback.objects.exclude(comment="").exists()
    friendly = Client()
    bad = friendly.post(answer_url(article), {"comment": "spam", "token": "nonsense"})
    assert bad.status_code == 400 and "belongs to no answer" in bad.content.decode()


def test_the_honeypot_looks_like_success_and_records_nothing(article):
    response = Client().post(answer_url(article), {"helpful": "yes", "website": "http://spam"}, **SAME_ORIGIN)
    assert response.status_code == 303 and not Feedback.objects.exists()


def test_bad_input_gets_a_clear_message(article):
    response = Client().post(answer_url(article), {"helpful": "maybe"}, **SAME_ORIGIN)
    assert response.status_code == 400 and "Choose “Yes” or “No”." in response.content.decode()
    assert Client().post(reverse("articles:feedback", args=["no-such-article"]), {"helpful": "yes"}).status_code == 404


def test_drafts_cannot_be_answered_and_show_no_question(article_factory, editor_client):
    draft = article_factory(draft=True)
    assert "Was this helpful?" not in editor_client.get(draft.get_absolute_url()).content.decode()
    assert answer(Client(), draft).status_code == 404


def test_floods_are_rate_limited_per_address(article_factory, monkeypatch):
    monkeypatch.setattr(feedback_module, "RATE_LIMIT", 3)
    articles = [article_factory() for _ in range(4)]
    statuses = [answer(Client(), a, REMOTE_ADDR="198.51.100.7").status_code for a in articles]
    assert statuses == [303, 303, 303, 429]
    assert Feedback.objects.count() == 3
    assert answer(Client(), articles[3], REMOTE_ADDR="198.51.100.8").status_code == 303


def test_answers_do_not_invalidate_cached_pages(client, article):
    from articles import caching

    client.get(article.get_absolute_url())
    version = caching.content_version()
    answer(Client(), article)
    assert caching.content_version() == version


def test_editors_see_the_share_of_yes_comments_and_the_least_helpful_articles(editor_client, article_factory):
    good, bad = article_factory(title="Good one"), article_factory(title="Bad one")
    today = timezone.localdate()
    for n, helpful in enumerate([True, True, True, False]):
        Feedback.objects.create(article=good, helpful=helpful, day=today, voter=f"g{n}")
    for n, helpful in enumerate([False, False, True]):
        Feedback.objects.create(article=bad, helpful=helpful, day=today, voter=f"b{n}", comment="Unclear" * (n == 0))
    page = editor_client.get(reverse("admin:articles_article_change", args=[bad.pk])).content.decode()
    assert "33% of 3 answers said “Yes”" in page and "Unclear" in page
    report = editor_client.get(reverse("admin:articles_article_helpfulness")).content.decode()
    assert report.index("Bad one") < report.index("Good one")
    listing = editor_client.get(reverse("admin:articles_feedback_changelist"), {"article__id__exact": bad.pk})
    assert listing.status_code == 200 and "Unclear" in listing.content.decode()
