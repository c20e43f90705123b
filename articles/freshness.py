"""Knowledge that stays true (#16): owners, review dates, and what needs a review.

- Every article has an **owner** (`Article.owner`; services.save_article
  defaults it to the author, publish_article to the editor who publishes it)
  and a **review interval**: the article's own (`Article.review_interval_days`)
  or else its category's, 0 meaning never.
- `last_reviewed_at` is set by "Still accurate" (services.mark_reviewed) and by
  any save that changes the body; `review_due_at` is derived from it and the
  interval in force (`due_at`), stored so that lists, reminders and search
  can use it in SQL.
- An article **needs review** when its review is due (overdue, or due within
  `DUE_SOON`), or when a reader answered "No" with a comment since its last
  review (`flagged()`); nothing is written to the article for that, so a
  reader's vote never conflicts with an editor's save.
"""

from datetime import timedelta

from django.db.models import Case, Exists, F, FloatField, OuterRef, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

DUE_SOON = timedelta(days=14)
# Overdue articles rank a little lower in search: their relevance is multiplied by this.
OVERDUE_SEARCH_FACTOR = 0.85


def interval_days(article) -> int:
    """The review interval in force, in days; 0 means never."""
    if article.review_interval_days is not None:
        return article.review_interval_days
    return article.category.review_interval_days


def due_at(article):
    """When the next review is due, from the last review and the interval in force; None for never."""
    days = interval_days(article)
    if not days or article.last_reviewed_at is None:
        return None
    return article.last_reviewed_at + timedelta(days=days)


def is_overdue(article, now=None) -> bool:
    return article.review_due_at is not None and article.review_due_at <= (now or timezone.now())


def months_between(start, end) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    if (end.day, end.time()) < (start.day, start.time()):
        months -= 1
    return max(months, 0)


def age_text(since, now=None) -> str:
    """'14 months', '2 years', '3 weeks': how long ago, in the words a reader would use."""
    now = now or timezone.now()
    months = months_between(since, now)
    if months >= 24:
        return f"{months // 12} years"
    if months >= 2:
        return f"{months} months"
    days = (now - since).days
    if days >= 14:
        return f"{days // 7} weeks"
    return f"{days} day{'s' if days != 1 else ''}"


def reader_review(article, now=None) -> dict:
    """What the article page shows about reviews: the date, and a calm notice once overdue. No query."""
    now = now or timezone.now()
    overdue = is_overdue(article, now) and article.last_reviewed_at is not None
    return {
        "reviewed_at": article.last_reviewed_at,
        "overdue": overdue,
        "age": age_text(article.last_reviewed_at, now) if overdue else "",
    }


# ---------------------------------------------------------------- in SQL


def _no_with_comment():
    """The readers' answers that flag an article: "No", with a comment."""
    from articles.models import Feedback

    return Feedback.objects.filter(helpful=False).exclude(comment="")


def flagged_since_review():
    """Exists: a reader said "No" with a comment after the article's last review (for annotate/filter)."""
    later = Q(created_at__gt=OuterRef("last_reviewed_at")) | Q(article__last_reviewed_at__isnull=True)
    return Exists(_no_with_comment().filter(later, article=OuterRef("pk")))


def overdue_q(now=None) -> Q:
    return Q(review_due_at__lte=now or timezone.now())


def due_q(now=None) -> Q:
    """Due within DUE_SOON, or overdue."""
    return Q(review_due_at__lte=(now or timezone.now()) + DUE_SOON)


def flagged_article_ids():
    """Ids of the articles flagged_since_review() is true of, from the (few) "No" answers."""
    later = Q(created_at__gt=F("article__last_reviewed_at")) | Q(article__last_reviewed_at__isnull=True)
    return _no_with_comment().filter(later).values_list("article_id", flat=True)


def needing_review(queryset, now=None):
    """Public articles of `queryset` that are due, overdue or flagged by a reader; annotated `flagged`."""
    return (
        queryset.published()
        .annotate(flagged=flagged_since_review())
        # The flagged articles' ids read first (a few "No" answers): filtering on the annotation ran its
        # EXISTS for every public article (333 ms at 100,000), and with a subquery the planner guesses
        # half the table matches and walks all of it (190 ms). The annotation is still computed, for the
        # rows shown.
        .filter(due_q(now) | Q(pk__in=list(flagged_article_ids())))
        .order_by(F("review_due_at").asc(nulls_last=True), "id")
    )


def search_rank_factor():
    """An SQL expression multiplying a search rank: a little lower for overdue articles, else 1.

    Used by articles/search.py's ranking (both PostgreSQL and SQLite). Only
    the order among matches moves; nothing is filtered out.
    """
    return Case(
        When(review_due_at__lte=Now(), then=Value(OVERDUE_SEARCH_FACTOR)),
        default=Value(1.0),
        output_field=FloatField(),
    )


# ---------------------------------------------------------------- the editor's dashboard

DASHBOARD_ITEMS = 8


# Set by the search app (search/apps.py), so that articles never imports search.
_zero_result_provider = None


def provide_zero_result_searches(provider) -> None:
    """Register `provider(user, since=...)`, returning [(query, times)] or None: search analytics (#13)."""
    global _zero_result_provider
    _zero_result_provider = provider


def zero_result_searches(user, *, since=None):
    """This week's top searches that found nothing, as `[(query, times)]`, or None to leave the list out.

    The search app's analytics provide it (None for users who may not see
    its report); the dashboard (templates/admin/includes/dashboard.html)
    shows the list, linked to the search report, whenever this is not None.
    """
    if _zero_result_provider is None:
        return None
    return _zero_result_provider(user, since=since)


def dashboard(user, now=None) -> dict:
    """The signed-in user's lists for the admin's start page, in a fixed number of queries (four)."""
    from django.urls import reverse

    from articles import services
    from articles.models import Article, Feedback

    now = now or timezone.now()
    visible = services.articles_visible_to(user, Article.objects.all())
    drafts = list(
        visible.filter(author=user)
        .exclude(status=Article.Status.PUBLISHED, published_at__isnull=False)
        .only("id", "title", "updated_at", "status", "published_at")
        .order_by("-updated_at")[:DASHBOARD_ITEMS]
    )
    reviews = list(
        needing_review(visible.filter(owner=user), now).only(
            "id", "title", "review_due_at", "last_reviewed_at", "status", "published_at"
        )[:DASHBOARD_ITEMS]
    )
    for article in reviews:
        article.overdue = is_overdue(article, now)
    mine = Q(article__owner=user) | Q(article__owner__isnull=True, article__author=user)
    feedback = list(
        Feedback.objects.filter(mine, helpful=False, article__in=visible.values("pk"))
        .select_related("article")
        .only("id", "comment", "created_at", "article__id", "article__title")
        .order_by("-created_at", "-id")[:DASHBOARD_ITEMS]
    )
    changelist = reverse("admin:articles_article_changelist")
    return {
        "drafts": drafts,
        "drafts_url": f"{changelist}?state=draft&author__id__exact={user.pk}",
        "reviews": reviews,
        "reviews_url": f"{changelist}?review=needed&owner=me",
        "feedback": feedback,
        "feedback_url": reverse("admin:articles_feedback_changelist") + "?helpful__exact=0&owner=me",
        "zero_result_searches": zero_result_searches(user, since=now - timedelta(days=7)),
        "now": now,
    }


# ---------------------------------------------------------------- review reminders

REMINDER_EVERY = timedelta(days=7)


def send_review_reminders(*, now=None, dry_run=False, stdout=None) -> dict:
    """Email each owner, at most once per REMINDER_EVERY, the public articles they own that need review.

    Idempotent and safe to run often, and twice at once: each owner's row is
    locked while their last reminder is checked, the email sent and the
    reminder recorded, in one transaction; an email that fails to send
    records nothing, so the next run tries again.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail
    from django.db import transaction
    from django.template.loader import render_to_string
    from django.urls import reverse

    from articles.models import Article, ReviewReminder

    now = now or timezone.now()
    User = get_user_model()
    owner_ids = sorted(
        set(needing_review(Article.objects.filter(owner__isnull=False), now).values_list("owner_id", flat=True))
    )
    result = {"sent": 0, "recently_reminded": 0, "no_email": 0, "owners": len(owner_ids)}
    for owner_id in owner_ids:
        with transaction.atomic():
            owner = User.objects.select_for_update().filter(pk=owner_id, is_active=True).first()
            if owner is None:
                continue
            if not owner.email:
                result["no_email"] += 1
                continue
            if ReviewReminder.objects.filter(user=owner, sent_at__gt=now - REMINDER_EVERY).exists():
                result["recently_reminded"] += 1
                continue
            articles = list(needing_review(Article.objects.filter(owner=owner), now).select_related("category"))
            if not articles:
                continue
            for article in articles:
                article.overdue = is_overdue(article, now)
                article.admin_url = settings.SITE_URL + reverse("admin:articles_article_change", args=[article.pk])
            overdue = [a for a in articles if a.overdue]
            due = [a for a in articles if not a.overdue and a.review_due_at and a.review_due_at <= now + DUE_SOON]
            context = {
                "owner": owner,
                "overdue": overdue,
                "due": due,
                "flagged": [a for a in articles if a not in overdue and a not in due],
                "dashboard_url": settings.SITE_URL + reverse("admin:index"),
                "site_name": settings.SITE_NAME,
            }
            subject = f"{len(articles)} article{'s' if len(articles) != 1 else ''} to review"
            if stdout is not None:
                stdout.write(f"{'Would send' if dry_run else 'Sending'} to {owner.email}: {subject}")
            if dry_run:
                result["sent"] += 1
                continue
            send_mail(
                f"[{settings.SITE_NAME}] {subject}",
                render_to_string("emails/review_reminder.txt", context),
                None,
                [owner.email],
            )
            ReviewReminder.objects.create(user=owner, sent_at=now, article_count=len(articles))
            result["sent"] += 1
    return result
