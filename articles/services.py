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
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

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
    return article.pk is None or (article.author_id == user.pk and article.status == Article.Status.DRAFT)


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
        article.status = Article.Status.DRAFT
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.save()
    # Checked after the row is written: a concurrent rename that frees this
    # slug has committed by then (the unique slug made this save wait for it),
    # so its new redirect is visible here.
    _keep_old_slug(article, old_slug=current.slug if current is not None else None)
    record_revision(article=article, by=by, note=note)
    return article


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


def record_revision(*, article: Article, by=None, note: str = "") -> ArticleRevision:
    return ArticleRevision.objects.create(
        article=article,
        user=by,
        title=article.title,
        summary=article.summary,
        body=article.body,
        status=article.status,
        published_at=article.published_at,
        version=article.version,
        note=note[:200],
    )


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
    current.save(update_fields=["status", "published_at", "updated_at"])
    record_revision(article=current, by=by, note="Published")
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
    current.title, current.summary, current.body = revision.title, revision.summary, revision.body
    current.save(update_fields=["title", "summary", "body", "updated_at"])
    record_revision(article=current, by=by, note=f"Restored version {revision.version}")
    return current


def articles_visible_to(user, queryset):
    """What a user may see in the admin: editors everything, authors only their own articles.

    Authors work as Ghost's contributors do: another author's draft does not
    exist for them anywhere in the admin.
    """
    return queryset if can_publish(user) else queryset.filter(author=user)
