"""Signed, expiring preview links: a reviewer without an account can read a draft."""

from django.core import signing
from django.urls import reverse

PREVIEW_DAYS = 7
_SALT = "articles.preview-link"


def preview_token(article) -> str:
    return signing.dumps({"article": article.pk}, salt=_SALT)


def preview_url(article) -> str:
    return reverse("articles:preview", kwargs={"token": preview_token(article)})


def article_id_from(token: str) -> int | None:
    """The article a token names, or None when it is tampered with or expired."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=PREVIEW_DAYS * 24 * 3600)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    article_id = data.get("article") if isinstance(data, dict) else None
    return article_id if isinstance(article_id, int) else None
