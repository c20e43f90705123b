"""Review before publishing (#17) in the admin's pages: the review queue on the start page, the steps in the history."""

from django import template
from django.urls import reverse

from articles import services
from articles.models import Article

register = template.Library()

QUEUE_LIMIT = 20


@register.inclusion_tag("admin/includes/review_queue.html", takes_context=True)
def review_queue(context):
    """Editors: every article waiting, oldest first. Authors: their own, waiting or sent back."""
    user = context["request"].user
    if not (user.is_authenticated and user.has_perm("articles.change_article")):
        return {"show": False}
    changelist = reverse("admin:articles_article_changelist")
    if services.can_publish(user):
        queue = services.review_queue().select_related("author", "category")
        return {
            "show": True,
            "editor": True,
            "articles": list(queue[:QUEUE_LIMIT]),
            "total": queue.count(),
            "all_url": f"{changelist}?state=in_review",
        }
    mine = (
        services.articles_visible_to(user, Article.objects.all())
        .exclude(moderation=Article.Moderation.NONE)
        .order_by("moderation", "-updated_at")
    )
    return {
        "show": True,
        "editor": False,
        "articles": list(mine[:QUEUE_LIMIT]),
        "total": mine.count(),
        "all_url": f"{changelist}?state=changes_requested",
    }


@register.inclusion_tag("admin/articles/article/includes/moderation_history.html")
def moderation_history(article):
    events = list(article.moderation_events.select_related("user"))
    for event in events:
        event.from_label = services.STATE_LABELS.get(event.from_state, event.from_state)
        event.to_label = services.STATE_LABELS.get(event.to_state, event.to_state)
    return {"events": events}
