"""Owners and review dates (#16): "Still accurate", reviews by saving, the reader's notice, the API, search."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from articles import freshness, services
from articles.models import Article, Feedback, ReviewReminder
from tests.admin_helpers import change_url, form_data
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def overdue(article, days=400):
    """Make the last review `days` ago, as if time had passed (no save: no new review)."""
    when = timezone.now() - timedelta(days=days)
    Article.objects.filter(pk=article.pk).update(
        last_reviewed_at=when, review_due_at=when + timedelta(days=freshness.interval_days(article))
    )
    article.refresh_from_db()
    return article


# ---------------------------------------------------------------- owners and due dates


def test_a_new_article_is_owned_by_its_author_and_due_after_the_categorys_interval(article_factory, editor):
    article = article_factory(author=editor, published_at=timezone.now() - timedelta(minutes=5))
    assert article.owner == editor
    assert article.last_reviewed_at == article.published_at
    assert article.review_due_at == article.published_at + timedelta(days=182)


def test_the_articles_own_interval_wins_and_never_means_no_due_date(article_factory):
    article = article_factory(review_interval_days=30)
    assert article.review_due_at == article.last_reviewed_at + timedelta(days=30)
    never = article_factory(review_interval_days=0)
    assert never.review_due_at is None


def test_changing_a_categorys_interval_moves_the_due_dates_that_follow_it(editor_client, article_factory, category):
    follows = article_factory(category=category)
    own = article_factory(category=category, review_interval_days=30)
    url = reverse("admin:articles_category_change", args=[category.pk])
    data = {"name": category.name, "slug": category.slug, "description": "", "position": 0}
    assert editor_client.post(url, {**data, "review_interval_days": 365}).status_code == 302
    follows.refresh_from_db()
    own.refresh_from_db()
    assert follows.review_due_at == follows.last_reviewed_at + timedelta(days=365)
    assert own.review_due_at == own.last_reviewed_at + timedelta(days=30)
    assert editor_client.post(url, {**data, "review_interval_days": 0}).status_code == 302
    follows.refresh_from_db()
    assert follows.review_due_at is None


def test_publishing_an_article_without_owner_or_author_makes_the_publisher_its_owner(article_factory, editor):
    article = article_factory(draft=True, author=None)
    assert article.owner is None
    services.publish_article(article=article, by=editor, expected_version=article.version)
    article.refresh_from_db()
    assert article.owner == editor


# ---------------------------------------------------------------- reviews


def test_still_accurate_records_a_review_without_touching_the_words(editor, article_factory):
    article = overdue(article_factory(title="Retries"))
    before = article.updated_at
    reviewed = services.mark_reviewed(
        article=article, by=editor, expected_version=article.version, note="  checked the  examples "
    )
    assert reviewed.version == article.version + 1
    assert reviewed.last_reviewed_by == editor
    assert timezone.now() - reviewed.last_reviewed_at < timedelta(seconds=5)
    assert reviewed.review_due_at == reviewed.last_reviewed_at + timedelta(days=182)
    assert reviewed.updated_at == before  # readers see no "Updated"
    revision = reviewed.revisions.first()
    assert (revision.version, revision.reviewed, revision.user) == (reviewed.version, True, editor)
    assert revision.note == "Reviewed: still accurate (checked the examples)"
    assert revision.body == article.body


def test_still_accurate_refuses_a_stale_version_and_writes_nothing(editor, article_factory):
    article = article_factory()
    services.save_article(article=article, by=editor, expected_version=article.version)  # someone saves
    with pytest.raises(services.EditConflict):
        services.mark_reviewed(article=article, by=editor, expected_version=article.version - 1)
    assert not article.revisions.filter(reviewed=True).exists()


def test_only_editors_and_the_owner_may_mark_reviewed(author, article_factory):
    theirs = article_factory()
    with pytest.raises(services.PermissionDenied):
        services.mark_reviewed(article=theirs, by=author, expected_version=theirs.version)
    own = article_factory(author=author)
    services.mark_reviewed(article=own, by=author, expected_version=own.version)


def test_saving_a_change_to_the_body_is_a_review_and_other_saves_are_not(editor_client, editor, article_factory):
    article = overdue(article_factory(author=editor))
    last = article.last_reviewed_at
    assert editor_client.post(change_url(article), form_data(article, title="New title")).status_code == 302
    article.refresh_from_db()
    assert article.last_reviewed_at == last
    assert not article.revisions.first().reviewed
    assert editor_client.post(change_url(article), form_data(article, body="New words.")).status_code == 302
    article.refresh_from_db()
    assert article.last_reviewed_at > last and article.last_reviewed_by == editor
    assert article.revisions.first().reviewed


def test_the_still_accurate_button_is_a_form_outside_the_article_form(editor_client, article_factory):
    article = overdue(article_factory())
    page = editor_client.get(change_url(article)).content.decode()
    assert 'form="mark-reviewed"' in page
    assert page.index('id="mark-reviewed"') > page.index("</form>")  # after #article_form closes
    assert "Review overdue since" in page
    response = editor_client.post(
        reverse("admin:articles_article_reviewed", args=[article.pk]),
        {"expected_version": article.version, "note": "fine"},
        follow=True,
    )
    assert "is still accurate" in response.content.decode()
    article.refresh_from_db()
    assert not freshness.is_overdue(article)
    history = editor_client.get(reverse("admin:articles_article_revisions", args=[article.pk])).content.decode()
    assert "Reviewed: still accurate (fine)" in history and "state-reviewed" in history


def test_the_still_accurate_button_reports_a_conflict(editor_client, article_factory):
    article = article_factory()
    response = editor_client.post(
        reverse("admin:articles_article_reviewed", args=[article.pk]),
        {"expected_version": article.version - 1 if article.version > 1 else 99},
        follow=True,
    )
    assert "Not recorded" in response.content.decode()


# ---------------------------------------------------------------- readers


def test_readers_see_the_review_date_and_a_calm_notice_once_overdue(client, article_factory):
    article = article_factory()
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Reviewed <time" in page
    assert "review-notice" not in page
    overdue(article, days=14 * 31)
    page = client.get(article.get_absolute_url()).content.decode()
    assert "This article was last reviewed 14 months ago; some details may have changed." in page


def test_age_text_reads_naturally():
    now = timezone.now().replace(year=2026, month=11, day=20)
    assert freshness.age_text(now.replace(year=2025, month=9, day=3), now) == "14 months"
    assert freshness.age_text(now.replace(year=2023, month=11, day=21), now) == "2 years"
    assert freshness.age_text(now - timedelta(days=20), now) == "2 weeks"


def test_the_api_exposes_last_review_and_due_date(client, article_factory):
    article = article_factory()
    item = client.get(reverse("api-v1:get_article", args=[article.slug])).json()
    assert item["last_reviewed_at"] is not None and item["review_due_at"] is not None
    listed = client.get(reverse("api-v1:list_articles")).json()["items"][0]
    assert {"last_reviewed_at", "review_due_at"} <= set(listed)


def test_overdue_articles_rank_a_little_lower_in_search(article_factory, category):
    from search import engine

    fresh = article_factory(title="Circuit breakers", category=category)
    stale = article_factory(title="Circuit breakers", category=category)
    ranked = {a.pk: a.rank for a in engine.matches(Article.objects.published(), "circuit breakers")}
    assert ranked[fresh.pk] == pytest.approx(ranked[stale.pk])
    overdue(stale)
    results = list(engine.ranked(Article.objects.published(), "circuit breakers"))
    assert [a.pk for a in results] == [fresh.pk, stale.pk]
    assert results[1].rank == pytest.approx(results[0].rank * freshness.OVERDUE_SEARCH_FACTOR)


# ---------------------------------------------------------------- reminders


def test_reminders_go_to_each_owner_at_most_weekly(article_factory, editor, author, settings):
    settings.SITE_URL = "https://kb.example.com"
    due = overdue(article_factory(author=editor, title="Old one"))
    soon = article_factory(author=editor, title="Nearly due")
    Article.objects.filter(pk=soon.pk).update(review_due_at=timezone.now() + timedelta(days=3))
    article_factory(author=editor, title="Fresh")
    flagged = article_factory(author=author, title="Confusing")
    Feedback.objects.create(article=flagged, helpful=False, comment="Step 3 fails", day=timezone.localdate(), voter="x")
    call_command("send_review_reminders")
    assert sorted(message.to[0] for message in mail.outbox) == [author.email, editor.email]
    to_editor = next(message for message in mail.outbox if message.to == [editor.email])
    assert "2 articles to review" in to_editor.subject
    assert "Old one" in to_editor.body and "Nearly due" in to_editor.body and "Fresh" not in to_editor.body
    assert f"https://kb.example.com/admin/articles/article/{due.pk}/change/" in to_editor.body
    to_author = next(message for message in mail.outbox if message.to == [author.email])
    assert "Confusing" in to_author.body and "Flagged by readers" in to_author.body
    # Run again: nothing more this week (idempotent); a week later, again.
    call_command("send_review_reminders")
    assert len(mail.outbox) == 2
    ReviewReminder.objects.update(sent_at=timezone.now() - timedelta(days=8))
    call_command("send_review_reminders")
    assert len(mail.outbox) == 4


def test_reminders_skip_drafts_owners_without_email_and_dry_runs_send_nothing(article_factory):
    quiet = member_of("Editors", "quiet")
    quiet.email = ""
    quiet.save()
    overdue(article_factory(author=quiet))
    loud = member_of("Editors", "loud")
    overdue(article_factory(author=loud, draft=True))
    overdue(article_factory(author=loud))
    call_command("send_review_reminders", "--dry-run")
    assert mail.outbox == [] and not ReviewReminder.objects.exists()
    call_command("send_review_reminders")
    assert [message.to for message in mail.outbox] == [[loud.email]]
    assert "1 article to review" in mail.outbox[0].subject
