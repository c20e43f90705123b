from django.urls import reverse

from articles.models import Article


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def form_data(article: Article, **changes):
    """What the admin change form posts for this article, with `changes` applied."""
    data = {
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "body": article.body,
        "edit_version": article.version,
        "status": article.status,
        "published_at_0": article.published_at.strftime("%Y-%m-%d") if article.published_at else "",
        "published_at_1": article.published_at.strftime("%H:%M:%S") if article.published_at else "",
        "category": article.category_id,
        "tags": ", ".join(article.tags.names()),
        "author": article.author_id or "",
        "owner": article.owner_id or "",
        "review_interval_days": "" if article.review_interval_days is None else article.review_interval_days,
        "_save": "Save",
    }
    data.update(changes)
    return data
