"""Keep the search index in step with changes that bypass Article.save().

Tags are saved after the article (the admin's save_m2m, `tags.set()`), and
queryset deletes never call Model.delete(), so these two hooks are the only
reliable places to hear about them.
"""

from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver

from articles import search
from articles.models import Article


@receiver(m2m_changed, sender=Article.tags.through)
def reindex_on_tag_change(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        search.index_article(instance)


@receiver(post_delete, sender=Article)
def remove_from_search_index(sender, instance, **kwargs):
    search.remove_from_index(instance.pk)
