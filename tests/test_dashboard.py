"""The editor's dashboard on the admin's start page (#16): drafts, reviews due, recent "No" answers."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Feedback

pytestmark = pytest.mark.django_db


def make_overdue(article):
    when = timezone.now() - timedelta(days=400)
    Article.objects.filter(pk=article.pk).update(last_reviewed_at=when, review_due_at=when + timedelta(days=182))


def test_the_dashboard_shows_the_users_drafts_reviews_and_no_answers(editor_client, editor, article_factory):
    article_factory(title="My draft", draft=True, author=editor)
    article_factory(title="Someone else's draft", draft=True)
    mine = article_factory(title="My stale article", author=editor)
    make_overdue(mine)
    make_overdue(article_factory(title="Their stale article"))
    Feedback.objects.create(
        article=mine, helpful=False, comment="Outdated screenshots", day=timezone.localdate(), voter="v"
    )
    html = editor_client.get(reverse("admin:index")).content.decode()
    assert "Your drafts" in html and "My draft" in html and "Someone else&#x27;s draft" not in html
    assert "Due for review" in html and "My stale article" in html and "Their stale article" not in html
    assert "Overdue since" in html
    assert "Outdated screenshots" in html
    assert f"?state=draft&amp;author__id__exact={editor.pk}" in html
    assert "?review=needed&amp;owner=me" in html
    assert "?helpful__exact=0&amp;owner=me" in html
    # Search analytics (#13) fill the hook for those who may see the search report, as editors may.
    assert "Searches with no results this week" in html and "Every search found something." in html


def test_each_dashboard_link_opens_the_filtered_changelist(editor_client, editor, article_factory):
    article_factory(title="My draft", draft=True, author=editor)
    stale = article_factory(title="My stale article", author=editor)
    make_overdue(stale)
    fresh = article_factory(title="My fresh article", author=editor)
    Feedback.objects.create(article=fresh, helpful=False, day=timezone.localdate(), voter="v")
    changelist = reverse("admin:articles_article_changelist")
    drafts = editor_client.get(changelist, {"state": "draft", "author__id__exact": editor.pk}).content.decode()
    assert "My draft" in drafts and "My stale article" not in drafts
    reviews = editor_client.get(changelist, {"review": "needed", "owner": "me"}).content.decode()
    assert "My stale article" in reviews and "My fresh article" not in reviews
    feedback = editor_client.get(reverse("admin:articles_feedback_changelist"), {"helpful__exact": 0, "owner": "me"})
    assert feedback.status_code == 200 and "My fresh article" in feedback.content.decode()


def test_a_flagged_article_needs_review_until_it_is_reviewed(editor_client, editor, article_factory):
    from articles import services

    article = article_factory(title="Flagged one", author=editor)
    Feedback.objects.create(article=article, helpful=False, comment="Wrong", day=timezone.localdate(), voter="v")
    changelist = reverse("admin:articles_article_changelist")
    assert "Flagged one" in editor_client.get(changelist, {"review": "flagged"}).content.decode()
    assert "A reader said" in editor_client.get(reverse("admin:index")).content.decode()
    services.mark_reviewed(article=article, by=editor, expected_version=article.version)
    assert "Flagged one" not in editor_client.get(changelist, {"review": "flagged"}).content.decode()


def test_authors_see_their_own_lists_only(author_client, author, article_factory):
    article_factory(title="Author draft", draft=True, author=author)
    html = author_client.get(reverse("admin:index")).content.decode()
    assert "Author draft" in html
    assert "Every overdue article" not in html


def test_the_dashboard_runs_a_fixed_number_of_queries(
    editor_client, editor, article_factory, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n):
        for i in range(n):
            article_factory(draft=True, author=editor)
            stale = article_factory(author=editor)
            make_overdue(stale)
            Feedback.objects.create(article=stale, helpful=False, day=timezone.localdate(), voter=f"v{n}-{i}")

    add(2)
    editor_client.get(reverse("admin:index"))
    with CaptureQueriesContext(connection) as few:
        editor_client.get(reverse("admin:index"))
    add(10)
    with CaptureQueriesContext(connection) as many:
        editor_client.get(reverse("admin:index"))
    assert len(many) == len(few)
