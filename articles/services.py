"""Editorial operations that span models: saving with a revision, publishing, restoring.

Views, admin actions and the seed loader call these; none of them save an
article any other way, so the rules below hold for every path:

- Every write takes the version the caller saw (`expected_version`, keyword
  only). It locks the article's row (`select_for_update`) in one transaction,
  compares, and raises `EditConflict` when someone saved in between: nothing is
  written, and the exception says who saved and what changed. Only the system
  (`by=None`, e.g. the seed loader) may pass `None`, and only a new article has
  no version at all.
- Publish, unpublish and restore change only the fields they mean to, on the
  locked current row; they never write back fields the caller loaded earlier.
- Every write stores exactly one revision, numbered from the version read
  under the lock (`(article, version)` is unique in the database too).
- A slug redirect belongs to the article it points at: no other article may
  take that slug, so nobody's old link breaks (`SlugTaken`).
- Reviews (#16, articles/freshness.py): "Still accurate" (`mark_reviewed`) is a
  write like the others, with its own revision marked `reviewed`; a save that
  changes the body counts as a review too. Every save records the links the
  body makes to other articles (articles/links.py).
- Review before publishing (#17): submit, withdraw, approve and request
  changes are writes like the others (`expected_version`, the row locked).
  Each is legal only from the states `TRANSITIONS` names, else
  `IllegalTransition` and nothing is written; each stores one revision and one
  `ModerationEvent`, and sends at most one email, after the commit. An author
  cannot change their draft while it is in review; publishing it by any other
  path (the status field, "Publish now") takes it out of review, recorded too.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from articles import freshness, links
from articles.diffs import FieldDiff, diff_revisions
from articles.models import Article, ArticleRevision, SlugRedirect

PUBLISH_PERMISSION = "articles.publish_article"


class EditConflict(Exception):
    """Someone saved the article after the version the caller saw; nothing was written.

    `article` is the current row (as locked), `saved_by` who saved its latest
    version (None for the system), `seen_revision` and `current_revision` the
    revisions of the version the caller saw and of the current one (either may
    be None for history older than revisions), and `diff` what changed between
    them.
    """

    def __init__(self, *, article: Article, expected_version, saved_by, seen_revision, current_revision):
        self.article = article
        self.expected_version = expected_version
        self.saved_by = saved_by
        self.seen_revision = seen_revision
        self.current_revision = current_revision
        super().__init__(
            f"“{article.title}” was saved by {self.who} after the version you saw "
            f"(you saw version {expected_version}, it is now version {article.version})."
        )

    @property
    def who(self) -> str:
        return str(self.saved_by) if self.saved_by is not None else "someone else"

    @property
    def diff(self) -> list[FieldDiff]:
        if self.seen_revision is None or self.current_revision is None:
            return []
        return diff_revisions(self.seen_revision, self.current_revision)

    @property
    def history_url(self) -> str:
        """The article's revisions page comparing what the caller saw with what is saved now."""
        url = reverse("admin:articles_article_revisions", args=[self.article.pk])
        if self.seen_revision is not None and self.current_revision is not None:
            url += f"?from={self.seen_revision.pk}&to={self.current_revision.pk}"
        return url


class SlugTaken(ValidationError):
    """The slug is another article's old address: taking it would break that article's old links."""

    def __init__(self, slug: str, owner: Article):
        self.slug, self.owner = slug, owner
        super().__init__(slug_taken_message(slug, owner), code="slug_redirect_taken")


def slug_taken_message(slug: str, owner: Article) -> str:
    return (
        f"/articles/{slug}/ was the address of “{owner.title}” and still redirects there, "
        "so old links to it keep working. Choose another slug."
    )


def old_slug_owner(slug: str, *, article_pk=None) -> Article | None:
    """The other article whose old address `slug` is, if any (an article's own old slug is free to take back)."""
    redirects = SlugRedirect.objects.filter(old_slug=slug).select_related("article")
    if article_pk is not None:
        redirects = redirects.exclude(article_id=article_pk)
    redirect = redirects.first()
    return redirect.article if redirect else None


def can_publish(user) -> bool:
    return bool(user and user.has_perm(PUBLISH_PERMISSION))


def can_edit(user, article: Article) -> bool:
    """Editors change any article; authors only their own drafts."""
    if not user.has_perm("articles.change_article"):
        return False
    if can_publish(user):
        return True
    return article.pk is None or (
        article.author_id == user.pk
        and article.status == Article.Status.DRAFT
        # Waiting for an editor: the author withdraws it first (#17).
        and article.moderation != Article.Moderation.IN_REVIEW
    )


def lock_article(pk, *, expected_version) -> Article:
    """The article's current row, locked until the transaction ends, if it is still at `expected_version`.

    Raises EditConflict otherwise (a missing `expected_version` matches no version).
    Call it inside a transaction: the admin's change form checks with it in its
    validation, and the write that follows in the same transaction holds the lock.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_article() needs a transaction: the lock would end with the statement.")
    current = Article.objects.select_for_update().get(pk=pk)
    if expected_version != current.version:
        raise _conflict(current, expected_version)
    return current


def _conflict(current: Article, expected_version) -> EditConflict:
    revisions = current.revisions.select_related("user").order_by("-version", "-id")
    latest = revisions.first()
    seen = None
    if isinstance(expected_version, int):
        seen = revisions.filter(version__lte=expected_version).first()
    return EditConflict(
        article=current,
        expected_version=expected_version,
        saved_by=latest.user if latest else None,
        seen_revision=seen,
        current_revision=latest,
    )


def _require_version(by, expected_version) -> None:
    if by is not None and expected_version is None:
        raise ValueError("expected_version is required: pass the version the user saw (None is for the system only).")


@transaction.atomic
def save_article(*, article: Article, expected_version, by=None, note: str = "") -> Article:
    """Save the article and record a revision; `by=None` is the system (e.g. the seed loader).

    `expected_version` is the version the caller started from (None for a new
    article, and for the system, which then overwrites whatever is saved).
    Someone without the publish permission can only ever save a draft: a
    crafted request asking for "published" is saved as a draft all the same.
    """
    current = None
    if article.pk is None:
        if expected_version is not None:
            raise ValueError("A new article has no version yet: pass expected_version=None.")
    else:
        _require_version(by, expected_version)
        if expected_version is None:
            current = Article.objects.select_for_update().get(pk=article.pk)
        else:
            current = lock_article(article.pk, expected_version=expected_version)
        # Numbered from the row as locked, so two saves never share a version.
        article.version = current.version
    if by is not None and not can_publish(by):
        if current is not None and current.status != Article.Status.DRAFT:
            raise PermissionDenied("Only editors can change a published or scheduled article.")
        if current is not None and current.moderation == Article.Moderation.IN_REVIEW:
            raise PermissionDenied("It is waiting for an editor's review: withdraw it to change it.")
        article.status = Article.Status.DRAFT
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    reviewed = current is None or _normalised(article.body) != _normalised(current.body)
    _keep_review_fields(article, current, by=by, reviewed=reviewed)
    left_review = _keep_moderation_fields(article, current)
    article.save()
    # Checked after the row is written: a concurrent rename that frees this
    # slug has committed by then (the unique slug made this save wait for it),
    # so its new redirect is visible here.
    _keep_old_slug(article, old_slug=current.slug if current is not None else None)
    if reviewed:
        links.record_links(article)
    record_revision(article=article, by=by, note=note, reviewed=reviewed and current is not None)
    if left_review:
        _record_transition(article, by=by, action="publish", from_state=left_review)
    return article


def _keep_moderation_fields(article: Article, current: Article | None) -> str:
    """The moderation state comes from the locked row, never the caller's copy (#17).

    A save that publishes an article waiting for review takes it out of
    review; returns the state it left ("" when it stays as it was).
    """
    if current is None:
        article.moderation, article.submitted_at = Article.Moderation.NONE, None
        return ""
    article.moderation, article.submitted_at = current.moderation, current.submitted_at
    if article.moderation and article.status == Article.Status.PUBLISHED:
        left = article.moderation
        article.moderation, article.submitted_at = Article.Moderation.NONE, None
        return left
    return ""


def _normalised(body: str) -> str:
    # A form sends \r\n and drops trailing blank lines: that is not a change to the words.
    return body.replace("\r\n", "\n").strip()


def _keep_review_fields(article: Article, current: Article | None, *, by, reviewed: bool) -> None:
    """Owner, last review and due date for a full save (#16).

    The review fields are never taken from the caller's copy: they come from
    the locked row, then a body change is a review. A missing owner becomes
    the author, else the editor who publishes it.
    """
    if current is not None:
        article.last_reviewed_at, article.last_reviewed_by_id = current.last_reviewed_at, current.last_reviewed_by_id
    if reviewed:
        now = timezone.now()
        article.last_reviewed_at, article.last_reviewed_by = now, by
        if current is None and article.published_at is not None and article.published_at < now:
            # A new article with a past date (imported, the seed) was last checked when it was written.
            article.last_reviewed_at = article.published_at
    if article.owner_id is None:
        if article.author_id is not None:
            article.owner_id = article.author_id
        elif by is not None and can_publish(by) and article.status == Article.Status.PUBLISHED:
            article.owner = by
    article.review_due_at = freshness.due_at(article)


def _keep_old_slug(article: Article, *, old_slug: str | None) -> None:
    owner = old_slug_owner(article.slug, article_pk=article.pk)
    if owner is not None:
        raise SlugTaken(article.slug, owner)
    # A slug taken back by its own article must not keep redirecting away from it.
    SlugRedirect.objects.filter(old_slug=article.slug, article=article).delete()
    if old_slug and old_slug != article.slug:
        # Never take over another article's redirect (only data from before
        # this rule could have one for a slug this article held).
        SlugRedirect.objects.get_or_create(old_slug=old_slug, defaults={"article": article})


def revision_of(article: Article, *, by=None, note: str = "", reviewed: bool = False) -> ArticleRevision:
    """An unsaved snapshot of the article as it is now (bulk loaders create many at once)."""
    return ArticleRevision(
        article=article,
        user=by,
        title=article.title,
        summary=article.summary,
        body=article.body,
        status=article.status,
        published_at=article.published_at,
        version=article.version,
        note=note[:200],
        reviewed=reviewed,
    )


def record_revision(*, article: Article, by=None, note: str = "", reviewed: bool = False) -> ArticleRevision:
    revision = revision_of(article, by=by, note=note, reviewed=reviewed)
    revision.save(force_insert=True)
    return revision


def _require_publisher(user) -> None:
    if not can_publish(user):
        raise PermissionDenied("You need the permission to publish articles.")


@transaction.atomic
def publish_article(*, article: Article, by, expected_version) -> Article:
    """Publish now: a draft or a scheduled article becomes public at once.

    Writes only the status and date, on the locked current row. An article
    already public is left as it is (no new version): compare the returned
    article's version with `expected_version` to tell.
    """
    _require_publisher(by)
    _require_version(by, expected_version)
    current = lock_article(article.pk, expected_version=expected_version)
    now = timezone.now()
    if current.status == Article.Status.PUBLISHED and current.published_at and current.published_at <= now:
        return current
    current.status = Article.Status.PUBLISHED
    if current.published_at is None or current.published_at > now:
        current.published_at = now
    fields = ["status", "published_at", "updated_at"]
    if current.owner_id is None:
        # Nobody answers for it yet: the editor who publishes it does (#16).
        current.owner = by
        fields.append("owner")
    left_review = current.moderation
    if left_review:
        # Published while waiting for review: out of the queue, and recorded (#17).
        current.moderation, current.submitted_at = Article.Moderation.NONE, None
        fields += ["moderation", "submitted_at"]
    current.save(update_fields=fields)
    record_revision(article=current, by=by, note="Published")
    if left_review:
        _record_transition(current, by=by, action="publish", from_state=left_review)
    return current


@transaction.atomic
def unpublish_article(*, article: Article, by, expected_version) -> Article:
    """Back to draft, writing only the status on the locked current row; a draft is left as it is."""
    _require_publisher(by)
    _require_version(by, expected_version)
    current = lock_article(article.pk, expected_version=expected_version)
    if current.status == Article.Status.DRAFT:
        return current
    current.status = Article.Status.DRAFT
    current.save(update_fields=["status", "updated_at"])
    record_revision(article=current, by=by, note="Unpublished")
    return current


@transaction.atomic
def restore_revision(*, revision: ArticleRevision, by, expected_version) -> Article:
    """Bring back a revision's words on the locked current row; the restore is itself a new revision.

    Only title, summary and body are written: category, tags, status and the
    rest stay as they are now.
    """
    _require_version(by, expected_version)
    current = lock_article(revision.article_id, expected_version=expected_version)
    if not can_edit(by, current):
        raise PermissionDenied("You may not change this article.")
    body_changed = current.body != revision.body
    current.title, current.summary, current.body = revision.title, revision.summary, revision.body
    fields = ["title", "summary", "body", "updated_at"]
    if body_changed:
        # Bringing back other words is a change to the body, and so a review (#16).
        current.last_reviewed_at, current.last_reviewed_by = timezone.now(), by
        current.review_due_at = freshness.due_at(current)
        fields += ["last_reviewed_at", "last_reviewed_by", "review_due_at"]
    current.save(update_fields=fields)
    if body_changed:
        links.record_links(current)
    record_revision(article=current, by=by, note=f"Restored version {revision.version}", reviewed=body_changed)
    return current


REVIEW_NOTE_MAX = 150


def can_review(user, article: Article) -> bool:
    """Editors review any article; its owner reviews it too, even when they may not change it."""
    if not user.has_perm("articles.change_article"):
        return False
    return can_publish(user) or (article.owner_id is not None and article.owner_id == user.pk)


@transaction.atomic
def mark_reviewed(*, article: Article, by, expected_version, note: str = "") -> Article:
    """ "Still accurate": record a review (who, when, an optional note) without touching the words.

    The same guarantee as every write: the row is locked and must still be at
    `expected_version`, or EditConflict. Writes only the review fields and
    stores one revision, marked `reviewed`, with the note.
    """
    _require_version(by, expected_version)
    current = lock_article(article.pk, expected_version=expected_version)
    if by is not None and not can_review(by, current):
        raise PermissionDenied("Only an editor or the article's owner can mark it reviewed.")
    note = " ".join(note.split())[:REVIEW_NOTE_MAX]
    current.last_reviewed_at, current.last_reviewed_by = timezone.now(), by
    current.review_due_at = freshness.due_at(current)
    # Not updated_at: the words did not change, so readers must not see "Updated".
    current.save(update_fields=["last_reviewed_at", "last_reviewed_by", "review_due_at"])
    record_revision(
        article=current, by=by, note=f"Reviewed: still accurate{f' ({note})' if note else ''}", reviewed=True
    )
    return current


def refresh_review_due_dates(category) -> int:
    """After a category's interval changed: the due date of its articles that follow it. Returns how many.

    A derived column, recomputed in one statement; like the counts kept by
    triggers it is not an edit, so it neither bumps versions nor adds revisions.
    """
    from datetime import timedelta

    from django.db.models import F

    articles = Article.objects.filter(category=category, review_interval_days__isnull=True)
    if not category.review_interval_days:
        return articles.exclude(review_due_at=None).update(review_due_at=None)
    return articles.exclude(last_reviewed_at=None).update(
        review_due_at=F("last_reviewed_at") + timedelta(days=category.review_interval_days)
    )


def articles_visible_to(user, queryset):
    """What a user may see in the admin: editors everything, authors only their own articles.

    Authors work as Ghost's contributors do: another author's draft does not
    exist for them anywhere in the admin.
    """
    return queryset if can_publish(user) else queryset.filter(author=user)


# ---------------------------------------------------------------- review before publishing (#17)

COMMENT_MAX = 2000


class IllegalTransition(Exception):
    """The article is not in a state this step starts from (or the step is not this user's); nothing was written."""


def moderation_state(article: Article) -> str:
    """draft, in_review, changes_requested, scheduled or published: where the article is in the workflow."""
    if article.moderation:
        return article.moderation
    if article.status == Article.Status.PUBLISHED and article.published_at is not None:
        return "scheduled" if article.published_at > timezone.now() else "published"
    return "draft"


STATE_LABELS = {
    "draft": "Draft",
    "in_review": "In review",
    "changes_requested": "Changes requested",
    "scheduled": "Scheduled",
    "published": "Published",
}

# action: (the states it starts from, what it is called in messages)
TRANSITIONS = {
    "submit": ({"draft", "changes_requested"}, "submitted for review"),
    "withdraw": ({"in_review"}, "withdrawn from review"),
    "approve": ({"in_review"}, "approved"),
    "request_changes": ({"in_review"}, "sent back with a request for changes"),
}


def _check_transition(action: str, current: Article, by) -> str:
    """The state `action` leaves, if it may start here and `by` may take it; else IllegalTransition."""
    starts, _ = TRANSITIONS[action]
    state = moderation_state(current)
    if state not in starts:
        verb = {
            "submit": "submit for review",
            "withdraw": "withdraw",
            "approve": "approve",
            "request_changes": "request changes to",
        }[action]
        why = {
            "published": "it is already published",
            "scheduled": "it is already scheduled",
            "in_review": "it is already waiting for review",
            "draft": "it is not waiting for review (it was withdrawn, or never submitted)",
            "changes_requested": "it was sent back to its author and has not been submitted again",
        }[state]
        raise IllegalTransition(f"You cannot {verb} “{current.title}”: {why}.")
    if by is None:
        raise IllegalTransition("Review steps are taken by people, not by the system.")
    if action == "submit" and not can_edit(by, current):
        raise PermissionDenied("You may not submit this article.")
    if action == "withdraw" and not (current.author_id == by.pk or can_publish(by)):
        raise PermissionDenied("Only its author or an editor can withdraw it.")
    if action in {"approve", "request_changes"}:
        _require_publisher(by)
    return state


def _record_transition(article: Article, *, by, action: str, from_state: str, comment: str = ""):
    from articles.models import ModerationEvent

    event = ModerationEvent.objects.create(
        article=article,
        user=by,
        action=action,
        from_state=from_state,
        to_state=moderation_state(article),
        comment=comment,
        version=article.version,
    )
    transaction.on_commit(lambda: notify_transition(event.pk))
    return event


def _moderate(action, *, article, by, expected_version, note, apply, comment=""):
    _require_version(by, expected_version)
    current = lock_article(article.pk, expected_version=expected_version)
    from_state = _check_transition(action, current, by)
    fields = apply(current)
    current.save(update_fields=fields)
    record_revision(article=current, by=by, note=note)
    _record_transition(current, by=by, action=action, from_state=from_state, comment=comment)
    return current


@transaction.atomic
def submit_for_review(*, article: Article, by, expected_version) -> Article:
    """A draft (or one sent back) goes to the editors' queue; its author cannot change it while it waits."""

    def apply(current):
        current.moderation, current.submitted_at = Article.Moderation.IN_REVIEW, timezone.now()
        return ["moderation", "submitted_at"]

    return _moderate("submit", article=article, by=by, expected_version=expected_version,
                     note="Submitted for review", apply=apply)  # fmt: skip


@transaction.atomic
def withdraw_from_review(*, article: Article, by, expected_version) -> Article:
    """Out of the queue, back to an ordinary draft its author can change."""

    def apply(current):
        current.moderation, current.submitted_at = Article.Moderation.NONE, None
        return ["moderation", "submitted_at"]

    return _moderate("withdraw", article=article, by=by, expected_version=expected_version,
                     note="Withdrawn from review", apply=apply)  # fmt: skip


@transaction.atomic
def approve_article(*, article: Article, by, expected_version, publish_at=None, comment: str = "") -> Article:
    """An editor approves: published now, or scheduled for `publish_at` when that is in the future.

    Without a future date it is published as "Publish now" publishes (an
    earlier publication date it already had is kept).
    """
    comment = comment.strip()[:COMMENT_MAX]

    def apply(current):
        now = timezone.now()
        current.status = Article.Status.PUBLISHED
        if publish_at is not None and publish_at > now:
            current.published_at = publish_at
        elif current.published_at is None or current.published_at > now:
            current.published_at = now
        current.moderation, current.submitted_at = Article.Moderation.NONE, None
        fields = ["status", "published_at", "moderation", "submitted_at", "updated_at"]
        if current.owner_id is None:
            current.owner = current.author or by
            fields.append("owner")
        return fields

    scheduled = publish_at is not None and publish_at > timezone.now()
    return _moderate("approve", article=article, by=by, expected_version=expected_version, comment=comment,
                     note="Approved and scheduled" if scheduled else "Approved and published", apply=apply)  # fmt: skip


@transaction.atomic
def request_changes(*, article: Article, by, expected_version, comment: str) -> Article:
    """Back to its author with a comment, shown on the draft until it is submitted again."""
    comment = comment.strip()[:COMMENT_MAX]
    if not comment:
        raise IllegalTransition("Say what should change: a request for changes needs a comment.")

    def apply(current):
        current.moderation, current.submitted_at = Article.Moderation.CHANGES_REQUESTED, None
        return ["moderation", "submitted_at"]

    return _moderate("request_changes", article=article, by=by, expected_version=expected_version,
                     comment=comment, note="Changes requested", apply=apply)  # fmt: skip


def review_queue(queryset=None):
    """Articles waiting for an editor, oldest submission first."""
    queryset = Article.objects.all() if queryset is None else queryset
    return queryset.filter(moderation=Article.Moderation.IN_REVIEW).order_by("submitted_at", "pk")


def requested_changes(article: Article):
    """The request for changes shown on the draft, while it stands (until the next submission)."""
    if article.moderation != Article.Moderation.CHANGES_REQUESTED:
        return None
    return article.moderation_events.filter(action="request_changes").select_related("user").first()


def last_published_revision(article: Article) -> ArticleRevision | None:
    """What readers last had (or have scheduled): the newest revision saved as published."""
    return article.revisions.filter(status=Article.Status.PUBLISHED).order_by("-version").first()


def _editors():
    from django.contrib.auth import get_user_model

    # axes adds a backend of its own: ask the model backend, which knows groups and permissions.
    return get_user_model().objects.with_perm(PUBLISH_PERMISSION, backend="django.contrib.auth.backends.ModelBackend")


def transition_recipients(event) -> list[str]:
    """Who a step concerns: submissions and withdrawals the editors, decisions the author; never the actor."""
    article = event.article
    people = []
    if event.action in {"submit", "withdraw"}:
        people += list(_editors())
    if event.action != "submit" and article.author is not None:
        people.append(article.author)
    addresses = {person.email for person in people if person.email and person.pk != event.user_id}
    return sorted(addresses)


def notify_transition(event_pk) -> int:
    """One email for one step, to everyone it concerns (none when it concerns nobody). Returns how many sent."""
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string

    from articles.models import ModerationEvent

    event = ModerationEvent.objects.select_related("article", "article__author", "user").get(pk=event_pk)
    recipients = transition_recipients(event)
    if not recipients:
        return 0
    article = event.article
    context = {
        "event": event,
        "article": article,
        "actor": event.user or "someone",
        "verb": TRANSITIONS.get(event.action, (None, "published"))[1],
        "from_label": STATE_LABELS.get(event.from_state, event.from_state),
        "to_label": STATE_LABELS.get(event.to_state, event.to_state),
        "change_url": settings.SITE_URL + reverse("admin:articles_article_change", args=[article.pk]),
        "review_url": settings.SITE_URL + reverse("admin:articles_article_review", args=[article.pk]),
    }
    subject = f"“{article.title}” {context['verb']} by {context['actor']}"
    body = render_to_string("emails/moderation.txt", context)
    return EmailMessage(subject=subject[:200], body=body, to=recipients).send()
