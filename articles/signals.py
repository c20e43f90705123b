"""Keep the search index in step with changes that bypass Article.save().

Tags are saved after the article (the admin's save_m2m, `tags.set()`), and
queryset deletes never call Model.delete(), so these two hooks are the only
reliable places to hear about them.
"""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver
from taggit.models import Tag, TaggedItem

from articles import caching, search
from articles.models import Article, Category


@receiver(post_save, sender=Article, dispatch_uid="search-document")
def index_on_save(sender, instance, raw=False, **kwargs):
    # A fixture load (raw) writes rows as they are; rebuild_search indexes them.
    if not raw:
        search.index_article(instance)


@receiver(m2m_changed, sender=Article.tags.through)
def reindex_on_tag_change(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        search.index_article(instance)


@receiver(post_delete, sender=Article)
def remove_from_search_index(sender, instance, **kwargs):
    search.remove_from_index(instance.pk)


# Cached pages (articles/caching.py) show published articles (scheduled ones
# too, through the entries' timeout cap), their categories, tags and authors'
# names. A change to any of those makes the next request render afresh; a
# change nothing public shows (a draft, a draft's tags, a revision, a preview
# link, a login) leaves cached pages alone.


def _shown(article) -> bool:
    """Whether public pages depend on the article: published, now or on schedule."""
    return article.status == Article.Status.PUBLISHED


@receiver(pre_save, sender=Article, dispatch_uid="pages-article-before")
def remember_whether_shown(sender, instance, raw=False, **kwargs):
    instance._kb_was_shown = (
        instance.pk is not None
        and Article.objects.filter(pk=instance.pk, status=Article.Status.PUBLISHED).order_by().exists()
    )


@receiver(post_save, sender=Article, dispatch_uid="pages-article")
def invalidate_on_article_save(sender, instance, **kwargs):
    if _shown(instance) or getattr(instance, "_kb_was_shown", True):
        caching.content_changed()


@receiver(post_delete, sender=Article, dispatch_uid="pages-article-delete")
def invalidate_on_article_delete(sender, instance, **kwargs):
    if _shown(instance):
        caching.content_changed()


@receiver([post_save, post_delete], sender=Category, dispatch_uid="pages-category")
def invalidate_on_category_change(sender, **kwargs):
    caching.content_changed()


@receiver([post_save, post_delete], sender=Tag, dispatch_uid="pages-tag")
def invalidate_on_tag_change(sender, created=False, **kwargs):
    # A new tag is on no article yet; a rename or a deletion may show anywhere.
    if not created:
        caching.content_changed()


@receiver([post_save, post_delete], sender=TaggedItem, dispatch_uid="pages-tagged-item")
def invalidate_on_tagging(sender, instance, **kwargs):
    if instance.content_type_id != ContentType.objects.get_for_model(Article).pk:
        return
    if Article.objects.filter(pk=instance.object_id, status=Article.Status.PUBLISHED).order_by().exists():
        caching.content_changed()


@receiver(m2m_changed, sender=Article.tags.through, dispatch_uid="pages-article-tags")
def invalidate_cached_pages_on_tagging(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and (not isinstance(instance, Article) or _shown(instance)):
        caching.content_changed()


@receiver(post_save, sender=get_user_model(), dispatch_uid="pages-author")
def invalidate_cached_pages_on_author_change(sender, instance, created=False, update_fields=None, **kwargs):
    # Every login stores last_login, which shows on no page; nor does anyone who has published nothing.
    if created or (update_fields is not None and not set(update_fields) - {"last_login"}):
        return
    if Article.objects.filter(author_id=instance.pk, status=Article.Status.PUBLISHED).order_by().exists():
        caching.content_changed()


@receiver(post_delete, sender=get_user_model(), dispatch_uid="pages-author-delete")
def invalidate_cached_pages_on_author_delete(sender, **kwargs):
    # Their articles lost their author already (SET_NULL, an update that sends no signal).
    caching.content_changed()


@receiver(post_migrate, dispatch_uid="listing-count-triggers")
def keep_listing_count_triggers(sender, using, **kwargs):
    """Put back the triggers that keep listing counts (articles/counts.py) if a migration lost them.

    SQLite rebuilds a table to alter it, and its triggers go with the old table;
    the counts are then recomputed, since changes in between went uncounted.
    """
    from django.db import connections

    from articles import counts

    connection = connections[using]
    if sender.label != "articles" or "articles_listingcount" not in connection.introspection.table_names():
        return
    if not counts.installed(connection):
        counts.install(connection)
        counts.rebuild(connection)
