"""Editorial operations that span models: saving with a revision, publishing, restoring.

Views, admin actions and the seed loader call these; none of them save an
article any other way, so the rules below hold for every path.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from articles.models import Article, ArticleRevision, SlugRedirect

PUBLISH_PERMISSION = "articles.publish_article"


def can_publish(user) -> bool:
    return bool(user and user.has_perm(PUBLISH_PERMISSION))


def can_edit(user, article: Article) -> bool:
    """Editors change any article; authors only their own drafts."""
    if not user.has_perm("articles.change_article"):
        return False
    if can_publish(user):
        return True
    return article.pk is None or (article.author_id == user.pk and article.status == Article.Status.DRAFT)


@transaction.atomic
def save_article(*, article: Article, by=None, note: str = "") -> Article:
    """Save the article and record a revision; `by=None` is the system (e.g. the seed loader).

    Someone without the publish permission can only ever save a draft: a
    crafted request asking for "published" is saved as a draft all the same.
    """
    if by is not None and not can_publish(by):
        if article.pk and Article.objects.filter(pk=article.pk).exclude(status=Article.Status.DRAFT).exists():
            raise PermissionDenied("Only editors can change a published or scheduled article.")
        article.status = Article.Status.DRAFT
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    if article.pk:
        _keep_old_slug(article)
    article.save()
    record_revision(article=article, by=by, note=note)
    return article


def _keep_old_slug(article: Article) -> None:
    old_slug = Article.objects.filter(pk=article.pk).values_list("slug", flat=True).first()
    # A slug taken back by its article must not keep redirecting away from it.
    SlugRedirect.objects.filter(old_slug=article.slug).delete()
    if old_slug and old_slug != article.slug:
        SlugRedirect.objects.update_or_create(old_slug=old_slug, defaults={"article": article})


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


def publish_article(*, article: Article, by) -> Article:
    """Publish now: a draft or a scheduled article becomes public at once."""
    _require_publisher(by)
    article.status = Article.Status.PUBLISHED
    if article.published_at is None or article.published_at > timezone.now():
        article.published_at = timezone.now()
    return save_article(article=article, by=by, note="Published")


def unpublish_article(*, article: Article, by) -> Article:
    _require_publisher(by)
    article.status = Article.Status.DRAFT
    return save_article(article=article, by=by, note="Unpublished")


def restore_revision(*, revision: ArticleRevision, by) -> Article:
    """Bring back a revision's words; the restore is itself a new revision."""
    article = revision.article
    if not can_edit(by, article):
        raise PermissionDenied("You may not change this article.")
    article.title, article.summary, article.body = revision.title, revision.summary, revision.body
    return save_article(article=article, by=by, note=f"Restored version {revision.version}")


def articles_visible_to(user, queryset):
    """What a user may see in the admin: editors everything, authors only their own articles.

    Authors work as Ghost's contributors do: another author's draft does not
    exist for them anywhere in the admin.
    """
    return queryset if can_publish(user) else queryset.filter(author=user)
