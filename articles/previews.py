"""Shareable preview links: a reviewer without an account reads an unpublished article.

A link is a record (articles.models.PreviewLink) with an unguessable token: it
has an owner, an expiry and a last-opened time, and it can be revoked. It
shows the article as it is now, which is the point of a review.
"""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from articles.models import PreviewLink
from articles.services import can_edit, can_publish

PREVIEW_DAYS = 7
TOKEN_BYTES = 32  # 43 URL-safe characters
# A reviewer reloading the page must not write to the database each time.
LAST_OPENED_RESOLUTION = timedelta(minutes=1)


def create_preview_link(*, article, by) -> PreviewLink:
    """Only someone who may edit the article may share it."""
    if article.pk is None or not can_edit(by, article):
        raise PermissionDenied("You may not share this article.")
    return PreviewLink.objects.create(
        article=article,
        token=secrets.token_urlsafe(TOKEN_BYTES),
        created_by=by,
        expires_at=timezone.now() + timedelta(days=PREVIEW_DAYS),
    )


def can_manage(user, link: PreviewLink) -> bool:
    """Editors manage every link; anyone else only the links they made."""
    return can_publish(user) or (link.created_by_id is not None and link.created_by_id == user.pk)


def links_visible_to(user, article):
    links = PreviewLink.objects.filter(article=article).select_related("created_by", "revoked_by")
    return links if can_publish(user) else links.filter(created_by=user)


def revoke_preview_link(*, link: PreviewLink, by) -> PreviewLink:
    if not can_manage(by, link):
        raise PermissionDenied("Only editors and the link's creator can revoke it.")
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = timezone.now(), by
        link.save(update_fields=["revoked_at", "revoked_by"])
    return link


def open_preview_link(token: str) -> PreviewLink | None:
    """The active link with this token, its last-opened time brought up to date; None otherwise."""
    link = PreviewLink.objects.active().filter(token=token).select_related("article").first()
    if link is None:
        return None
    now = timezone.now()
    if link.last_opened_at is None or now - link.last_opened_at >= LAST_OPENED_RESOLUTION:
        # A filtered update, so two reviewers opening it at once write once.
        PreviewLink.objects.filter(pk=link.pk).filter(
            Q(last_opened_at__isnull=True) | Q(last_opened_at__lte=now - LAST_OPENED_RESOLUTION)
        ).update(last_opened_at=now)
        link.last_opened_at = now
    return link
