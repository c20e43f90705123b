"""Review before publishing (#17): every transition, every illegal one, the emails, and the admin's pages."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from articles import services
from articles.models import Article, ModerationEvent
from tests.admin_helpers import change_url, form_data
from tests.conftest import member_of
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_editor(db):
    return member_of("Editors", "eve")


@pytest.fixture
def draft(author, category):
    return ArticleFactory(author=author, category=category, draft=True, title="Idempotency keys", slug="idem")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the emails) of what happens inside, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def step(name, article, by, commit, **kwargs):
    operation = {
        "submit": services.submit_for_review,
        "withdraw": services.withdraw_from_review,
        "approve": services.approve_article,
        "request_changes": services.request_changes,
    }[name]
    if name == "request_changes":
        kwargs.setdefault("comment", "Please add an example.")
    article.refresh_from_db()
    with commit():
        return operation(article=article, by=by, expected_version=article.version, **kwargs)


def last_event(article):
    return article.moderation_events.first()


# ------------------------------------------------------------------ legal transitions


def test_submit_puts_the_draft_in_review_records_it_and_emails_the_editors(
    draft, author, editor, second_editor, commit, mailoutbox
):
    version = draft.version
    article = step("submit", draft, author, commit)
    assert article.moderation == "in_review" and article.status == "draft"
    assert article.submitted_at is not None and article.version == version + 1
    event = last_event(article)
    assert (event.user, event.action, event.from_state, event.to_state, event.version) == (
        author,
        "submit",
        "draft",
        "in_review",
        article.version,
    )
    assert article.revisions.first().note == "Submitted for review"
    assert len(mailoutbox) == 1
    assert sorted(mailoutbox[0].to) == ["edith@example.com", "eve@example.com"]
    assert "submitted for review by arthur" in mailoutbox[0].subject
    assert f"/admin/articles/article/{article.pk}/review/" in mailoutbox[0].body


def test_the_author_cannot_change_it_while_it_waits(draft, author, commit):
    step("submit", draft, author, commit)
    draft.refresh_from_db()
    assert not services.can_edit(author, draft)
    draft.body = "Changed while waiting."
    with pytest.raises(PermissionDenied, match="withdraw it"):
        services.save_article(article=draft, by=author, expected_version=draft.version)
    assert Article.objects.get(pk=draft.pk).body != "Changed while waiting."


def test_the_author_cannot_post_the_change_form_while_it_waits(draft, author, author_client, commit):
    step("submit", draft, author, commit)
    draft.refresh_from_db()
    response = author_client.post(change_url(draft), form_data(draft, body="Sneaky"))
    assert response.status_code == 403
    assert Article.objects.get(pk=draft.pk).body != "Sneaky"


def test_withdraw_makes_it_an_ordinary_draft_again(draft, author, editor, commit, mailoutbox):
    step("submit", draft, author, commit)
    mailoutbox.clear()
    article = step("withdraw", draft, author, commit)
    assert (article.moderation, article.submitted_at, article.status) == ("", None, "draft")
    event = last_event(article)
    assert (event.action, event.from_state, event.to_state) == ("withdraw", "in_review", "draft")
    assert services.can_edit(author, article)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["edith@example.com"]


def test_an_editor_withdrawing_tells_the_author(draft, author, editor, commit, mailoutbox):
    step("submit", draft, author, commit)
    mailoutbox.clear()
    step("withdraw", draft, editor, commit)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["arthur@example.com"]


def test_request_changes_sends_it_back_with_a_comment_shown_until_the_next_submission(
    draft, author, editor, commit, mailoutbox
):
    step("submit", draft, author, commit)
    mailoutbox.clear()
    article = step("request_changes", draft, editor, commit, comment="Add a retry example.")
    assert article.moderation == "changes_requested" and article.status == "draft"
    event = last_event(article)
    assert (event.user, event.from_state, event.to_state, event.comment) == (
        editor,
        "in_review",
        "changes_requested",
        "Add a retry example.",
    )
    assert services.requested_changes(article) == event
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["arthur@example.com"]
    assert "Add a retry example." in mailoutbox[0].body

    # The author fixes it (the comment stays), then submits again (the comment goes).
    article.body += "\nAn example.\n"
    services.save_article(article=article, by=author, expected_version=article.version)
    article.refresh_from_db()
    assert article.moderation == "changes_requested" and services.requested_changes(article) == event
    article = step("submit", article, author, commit)
    assert last_event(article).from_state == "changes_requested"
    assert services.requested_changes(article) is None


def test_approve_publishes_now_and_tells_the_author(draft, author, editor, second_editor, commit, mailoutbox):
    step("submit", draft, author, commit)
    mailoutbox.clear()
    article = step("approve", draft, editor, commit)
    assert article.state == "Published" and article.moderation == "" and article.submitted_at is None
    assert Article.objects.published().filter(pk=article.pk).exists()
    event = last_event(article)
    assert (event.action, event.from_state, event.to_state) == ("approve", "in_review", "published")
    assert article.revisions.first().note == "Approved and published"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["arthur@example.com"]


def test_approve_with_a_future_date_schedules_it(draft, author, editor, commit):
    step("submit", draft, author, commit)
    when = timezone.now() + timedelta(days=3)
    article = step("approve", draft, editor, commit, publish_at=when)
    assert article.state == "Scheduled" and article.published_at == when
    assert last_event(article).to_state == "scheduled"
    assert not Article.objects.published().filter(pk=article.pk).exists()


def test_publishing_it_another_way_takes_it_out_of_review_recorded(draft, author, editor, commit, mailoutbox):
    step("submit", draft, author, commit)
    mailoutbox.clear()
    draft.refresh_from_db()
    with commit():
        article = services.publish_article(article=draft, by=editor, expected_version=draft.version)
    assert article.moderation == "" and article.state == "Published"
    assert (last_event(article).action, last_event(article).from_state) == ("publish", "in_review")
    assert services.review_queue().count() == 0
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["arthur@example.com"]


def test_no_email_when_nobody_else_is_concerned(editor, category, commit, mailoutbox):
    article = ArticleFactory(author=editor, category=category, draft=True)
    step("submit", article, editor, commit)
    step("approve", article, editor, commit)
    assert mailoutbox == []


# ------------------------------------------------------------------ illegal transitions


def withdrawn(draft, author, editor, commit):
    step("submit", draft, author, commit)
    step("withdraw", draft, author, commit)


def published(draft, author, editor, commit):
    step("submit", draft, author, commit)
    step("approve", draft, editor, commit)


def scheduled(draft, author, editor, commit):
    step("submit", draft, author, commit)
    step("approve", draft, editor, commit, publish_at=timezone.now() + timedelta(days=1))


def in_review(draft, author, editor, commit):
    step("submit", draft, author, commit)


def changes_requested(draft, author, editor, commit):
    step("submit", draft, author, commit)
    step("request_changes", draft, editor, commit)


def never_submitted(draft, author, editor, commit):
    pass


ILLEGAL = [
    (withdrawn, "approve", "editor", "not waiting for review"),
    (withdrawn, "request_changes", "editor", "not waiting for review"),
    (withdrawn, "withdraw", "author", "not waiting for review"),
    (never_submitted, "approve", "editor", "not waiting for review"),
    (never_submitted, "withdraw", "author", "not waiting for review"),
    (published, "submit", "author", "already published"),
    (published, "submit", "editor", "already published"),
    (published, "approve", "editor", "already published"),
    (published, "request_changes", "editor", "already published"),
    (published, "withdraw", "editor", "already published"),
    (scheduled, "submit", "editor", "already scheduled"),
    (scheduled, "approve", "editor", "already scheduled"),
    (in_review, "submit", "author", "already waiting"),
    (changes_requested, "approve", "editor", "sent back to its author"),
    (changes_requested, "request_changes", "editor", "sent back to its author"),
    (changes_requested, "withdraw", "author", "sent back to its author"),
]


@pytest.mark.parametrize(
    ("state", "action", "who", "message"),
    ILLEGAL,
    ids=[f"{action}-{state.__name__}-by-{who}" for state, action, who, _ in ILLEGAL],
)
def test_an_illegal_transition_is_refused_with_a_message_and_writes_nothing(
    draft, author, editor, commit, mailoutbox, state, action, who, message
):
    state(draft, author, editor, commit)
    draft.refresh_from_db()
    before = (draft.version, draft.moderation, draft.status, draft.published_at, draft.moderation_events.count())
    mailoutbox.clear()
    with pytest.raises(services.IllegalTransition, match=message):
        step(action, draft, {"author": author, "editor": editor}[who], commit)
    draft.refresh_from_db()
    after = (draft.version, draft.moderation, draft.status, draft.published_at, draft.moderation_events.count())
    assert after == before
    assert mailoutbox == []


@pytest.mark.parametrize("action", ["approve", "request_changes"])
def test_only_editors_decide(draft, author, commit, action):
    step("submit", draft, author, commit)
    with pytest.raises(PermissionDenied):
        step(action, draft, author, commit)
    draft.refresh_from_db()
    assert draft.moderation == "in_review"


def test_an_author_cannot_submit_or_withdraw_someone_elses_article(draft, author, category, commit):
    other = member_of("Authors", "otto")
    with pytest.raises(PermissionDenied):
        step("submit", draft, other, commit)
    step("submit", draft, author, commit)
    with pytest.raises(PermissionDenied):
        step("withdraw", draft, other, commit)


def test_request_changes_needs_a_comment(draft, author, editor, commit):
    step("submit", draft, author, commit)
    with pytest.raises(services.IllegalTransition, match="needs a comment"):
        step("request_changes", draft, editor, commit, comment="   ")


def test_the_system_takes_no_review_step(draft):
    with pytest.raises(services.IllegalTransition, match="people"):
        services.submit_for_review(article=draft, by=None, expected_version=draft.version)


def test_a_step_from_a_version_someone_saved_over_is_refused(draft, author, editor, commit, mailoutbox):
    seen = draft.version
    draft.body += "\nAn editor's line.\n"
    services.save_article(article=draft, by=editor, expected_version=seen)
    with pytest.raises(services.EditConflict):
        services.submit_for_review(article=draft, by=author, expected_version=seen)
    draft.refresh_from_db()
    assert draft.moderation == "" and not ModerationEvent.objects.exists()
    step("submit", draft, author, commit)
    draft.refresh_from_db()
    with pytest.raises(services.EditConflict):
        services.approve_article(article=draft, by=editor, expected_version=draft.version - 1)
    with pytest.raises(ValueError, match="expected_version is required"):
        services.approve_article(article=draft, by=editor, expected_version=None)


# ------------------------------------------------------------------ the admin


def test_the_queue_is_oldest_first_on_the_editors_start_page(author, editor_client, category, commit):
    articles = [ArticleFactory(author=author, category=category, draft=True, title=f"Draft {n}") for n in range(3)]
    for article in reversed(articles):
        step("submit", article, author, commit)
    assert list(services.review_queue()) == list(reversed(articles))
    html = editor_client.get(reverse("admin:index")).content.decode()
    assert "Review queue (3)" in html
    assert html.index("Draft 2") < html.index("Draft 1") < html.index("Draft 0")


def test_the_author_sees_their_own_articles_in_review_on_the_start_page(draft, author, author_client, commit):
    step("submit", draft, author, commit)
    html = author_client.get(reverse("admin:index")).content.decode()
    assert "Your articles in review" in html and "Idempotency keys" in html and "Review queue" not in html


def test_the_list_shows_and_filters_in_review(draft, author, editor_client, category, commit):
    ArticleFactory(category=category, draft=True, title="Another draft")
    step("submit", draft, author, commit)
    changelist = reverse("admin:articles_article_changelist")
    html = editor_client.get(changelist).content.decode()
    assert '<span class="state-badge state-in-review">In review</span>' in html
    filtered = editor_client.get(changelist, {"state": "in_review"}).content.decode()
    assert "Idempotency keys" in filtered and "Another draft" not in filtered


def test_the_review_page_shows_the_whole_text_of_a_new_article(draft, author, editor_client, commit):
    step("submit", draft, author, commit)
    html = editor_client.get(reverse("admin:articles_article_review", args=[draft.pk])).content.decode()
    assert "A new article: the whole text" in html
    assert '<span class="diff-add">+ Idempotency keys</span>' in html


def test_the_review_page_diffs_against_the_last_published_version(author, editor, editor_client, category, commit):
    article = ArticleFactory(author=author, category=category, body="Old line.\n")
    with commit():
        services.unpublish_article(article=article, by=editor, expected_version=article.version)
    article.refresh_from_db()
    article.body = "New line.\n"
    services.save_article(article=article, by=author, expected_version=article.version)
    step("submit", article, author, commit)
    html = editor_client.get(reverse("admin:articles_article_review", args=[article.pk])).content.decode()
    assert "Changes since the published version 1" in html
    assert "− Old line." in html and "+ New line." in html


def test_the_review_page_is_for_editors_and_hidden_from_other_authors(draft, author, author_client, commit):
    step("submit", draft, author, commit)
    url = reverse("admin:articles_article_review", args=[draft.pk])
    assert author_client.get(url).status_code == 403
    other = member_of("Authors", "otto")
    author_client.force_login(other)
    assert author_client.get(url).status_code == 404
    moderate = reverse("admin:articles_article_moderate", args=[draft.pk, "withdraw"])
    assert author_client.post(moderate, {"expected_version": draft.version + 1}).status_code == 404


def test_the_whole_loop_through_the_admin(draft, author, editor, client, commit, mailoutbox):
    moderate = lambda step_, **data: client.post(  # noqa: E731
        reverse("admin:articles_article_moderate", args=[draft.pk, step_]),
        {"expected_version": Article.objects.get(pk=draft.pk).version, **data},
        follow=True,
    )
    client.force_login(author)
    with commit():
        response = moderate("submit")
    assert "Submitted “Idempotency keys” for review" in response.content.decode()
    page = client.get(change_url(draft)).content.decode()
    assert "It cannot be changed while it waits" in page and 'form="moderation-withdraw"' in page
    assert 'name="_save"' not in page  # read-only while it waits

    client.force_login(editor)
    with commit():
        response = moderate("request_changes", comment="Name the header.", next="review")
    assert "Sent “Idempotency keys” back" in response.content.decode()

    client.force_login(author)
    page = client.get(change_url(draft)).content.decode()
    assert "asked for changes" in page and "Name the header." in page
    draft.refresh_from_db()
    assert client.post(change_url(draft), form_data(draft, body=draft.body + "\nIdempotency-Key.\n")).status_code == 302
    with commit():
        moderate("submit")
    assert "Name the header." not in client.get(change_url(draft)).content.decode()

    client.force_login(editor)
    with commit():
        response = moderate("approve")
    assert "Approved and published “Idempotency keys”." in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == "Published"
    assert [e.action for e in draft.moderation_events.order_by("created_at", "id")] == [
        "submit",
        "request_changes",
        "submit",
        "approve",
    ]
    assert len(mailoutbox) == 4  # one per transition

    history = client.get(reverse("admin:articles_article_revisions", args=[draft.pk])).content.decode()
    assert "Review steps" in history and "Name the header." in history and "Changes requested" in history


def test_the_admin_says_why_a_step_was_refused(draft, author, author_client, commit):
    url = reverse("admin:articles_article_moderate", args=[draft.pk, "withdraw"])
    response = author_client.post(url, {"expected_version": draft.version}, follow=True)
    assert "You cannot withdraw “Idempotency keys”: it is not waiting for review" in response.content.decode()
    response = author_client.post(
        reverse("admin:articles_article_moderate", args=[draft.pk, "submit"]),
        {"expected_version": draft.version - 1},
        follow=True,
    )
    assert "Nothing was done" in response.content.decode()
    assert author_client.post(url, {}, follow=True).status_code == 200
    draft.refresh_from_db()
    assert draft.moderation == ""


def test_approving_with_a_date_from_the_review_page_schedules(draft, author, editor_client, commit):
    step("submit", draft, author, commit)
    draft.refresh_from_db()
    tomorrow = timezone.localtime() + timedelta(days=1)
    with commit():
        response = editor_client.post(
            reverse("admin:articles_article_moderate", args=[draft.pk, "approve"]),
            {
                "expected_version": draft.version,
                "publish_date": tomorrow.strftime("%Y-%m-%d"),
                "publish_time": "09:30",
            },
            follow=True,
        )
    assert "scheduled for" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == "Scheduled"
    assert timezone.localtime(draft.published_at).strftime("%Y-%m-%d %H:%M") == tomorrow.strftime("%Y-%m-%d 09:30")
