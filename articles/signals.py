"""Keep the search index in step with changes that bypass Article.save().

Tags are saved after the article (the admin's save_m2m, `tags.set()`), and
queryset deletes never call Model.delete(), so these two hooks are the only
reliable places to hear about them.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from taggit.models import Tag, TaggedItem

from articles import caching, search
from articles.models import Article, Category


@receiver(m2m_changed, sender=Article.tags.through)
def reindex_on_tag_change(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        search.index_article(instance)


@receiver(post_delete, sender=Article)
def remove_from_search_index(sender, instance, **kwargs):
    search.remove_from_index(instance.pk)


# Cached pages (articles/caching.py) show articles, categories, tags and
# authors' names: any saved change to them makes the next request render afresh.
@receiver([post_save, post_delete], sender=Article, dispatch_uid="pages-article")
@receiver([post_save, post_delete], sender=Category, dispatch_uid="pages-category")
@receiver([post_save, post_delete], sender=Tag, dispatch_uid="pages-tag")
@receiver([post_save, post_delete], sender=TaggedItem, dispatch_uid="pages-tagged-item")
def invalidate_cached_pages(sender, **kwargs):
    caching.content_changed()


@receiver(m2m_changed, sender=Article.tags.through, dispatch_uid="pages-article-tags")
def invalidate_cached_pages_on_tagging(sender, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"}:
        caching.content_changed()


@receiver([post_save, post_delete], sender=get_user_model(), dispatch_uid="pages-author")
def invalidate_cached_pages_on_author_change(sender, update_fields=None, **kwargs):
    # Every login stores last_login; that shows on no page.
    if update_fields is None or set(update_fields) - {"last_login"}:
        caching.content_changed()
