"""The article admin's review workflow and Markdown export (#17), as a mixin of ArticleAdmin.

Every step posts the version the page showed; the services lock, check and
refuse (`EditConflict`, `IllegalTransition`, `PermissionDenied`), and the
refusal is said in a message, never a 500.
"""

from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from articles import exchange, services
from articles.diffs import diff_texts

STEPS = {
    "submit": (services.submit_for_review, "Submitted “{}” for review. An editor will approve it or ask for changes."),
    "withdraw": (services.withdraw_from_review, "Withdrew “{}” from review: it is an ordinary draft again."),
    "approve": (services.approve_article, "Approved “{}”."),
    "request_changes": (services.request_changes, "Sent “{}” back to its author with your comment."),
}


class ModerationAdminMixin:
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/review/", view(self.review_view), name="articles_article_review"),
            path(
                "<int:pk>/moderate/<str:step>/",
                view(require_POST(self.moderate_view)),
                name="articles_article_moderate",
            ),
            path("<int:pk>/markdown/", view(self.markdown_view), name="articles_article_markdown"),
            *super().get_urls(),
        ]

    # ------------------------------------------------------------ the change form

    def moderation_context(self, request, article):
        state = services.moderation_state(article)
        user = request.user
        return {
            "moderation": {
                "state": state,
                "label": services.STATE_LABELS[state],
                "submitted_at": article.submitted_at,
                "requested": services.requested_changes(article),
                "can_submit": state in {"draft", "changes_requested"} and services.can_edit(user, article),
                "can_withdraw": state == "in_review" and (article.author_id == user.pk or services.can_publish(user)),
                "can_decide": state == "in_review" and services.can_publish(user),
                "is_author": article.author_id == user.pk,
            }
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if article is not None:
            extra_context = {**self.moderation_context(request, article), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    # ------------------------------------------------------------ the review page

    def review_view(self, request, pk):
        article = get_object_or_404(self.get_queryset(request).select_related("author"), pk=pk)
        if not services.can_publish(request.user):
            raise PermissionDenied
        published = services.last_published_revision(article)
        current = {"Title": article.title, "Summary": article.summary, "Body": article.body}
        if published is not None:
            old = {"Title": published.title, "Summary": published.summary, "Body": published.body}
            old_label = f"Published version {published.version}"
        else:
            old, old_label = dict.fromkeys(current, ""), "Nothing published yet"
        submission = article.moderation_events.filter(action="submit").select_related("user").first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review “{article.title}”",
            "article": article,
            "published": published,
            "diff": diff_texts(old, current, old_label=old_label, new_label="Submitted text"),
            "submission": submission,
            "now": timezone.localtime(),
            "comment_max": services.COMMENT_MAX,
            **self.moderation_context(request, article),
        }
        return TemplateResponse(request, "admin/articles/article/review.html", context)

    def moderate_view(self, request, pk, step):
        if step not in STEPS:
            raise Http404("No such step.")
        article = get_object_or_404(self.get_queryset(request), pk=pk)
        operation, done = STEPS[step]
        change = reverse("admin:articles_article_change", args=[pk])
        back = request.POST.get("next") == "review" and reverse("admin:articles_article_review", args=[pk]) or change
        seen = request.POST.get("expected_version", "")
        if not seen.isdigit():
            self.message_user(
                request, "Nothing was done: the page did not say which version you saw. Reload it.", messages.ERROR
            )
            return HttpResponseRedirect(back)
        kwargs = {"article": article, "by": request.user, "expected_version": int(seen)}
        if step == "request_changes":
            kwargs["comment"] = request.POST.get("comment", "")
        if step == "approve":
            kwargs["comment"] = request.POST.get("comment", "")
            try:
                kwargs["publish_at"] = self._publish_at(request)
            except ValueError:
                self.message_user(
                    request, "Not approved: the date or time is not valid (YYYY-MM-DD, HH:MM).", messages.ERROR
                )
                return HttpResponseRedirect(back)
        try:
            article = operation(**kwargs)
        except services.EditConflict as conflict:
            self.message_user(
                request,
                format_html(
                    "Nothing was done: {} saved “{}” after you opened it (you saw version {}, it is now version {}). "
                    '<a href="{}">See what changed</a>, then try again.',
                    conflict.who,
                    conflict.article.title,
                    conflict.expected_version,
                    conflict.article.version,
                    conflict.history_url,
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(back)
        except (services.IllegalTransition, PermissionDenied) as refusal:
            self.message_user(request, str(refusal) or "You may not do that.", messages.ERROR)
            return HttpResponseRedirect(back)
        message = done.format(article.title)
        if step == "approve":
            if article.state == "Scheduled":
                when = timezone.localtime(article.published_at)
                message = f"Approved “{article.title}”: scheduled for {when:%-d %b %Y, %H:%M}."
            else:
                message = f"Approved and published “{article.title}”."
        self.message_user(request, message, messages.SUCCESS)
        if step in {"approve", "request_changes"}:
            # Back to the queue: the editor's next article.
            return HttpResponseRedirect(reverse("admin:index"))
        return HttpResponseRedirect(change)

    @staticmethod
    def _publish_at(request):
        day, time = request.POST.get("publish_date", "").strip(), request.POST.get("publish_time", "").strip()
        if not day:
            return None
        moment = datetime.fromisoformat(f"{day}T{time or '00:00'}")
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment

    # ------------------------------------------------------------ Markdown out

    def markdown_view(self, request, pk):
        article = get_object_or_404(self.get_queryset(request).select_related("category", "author", "owner"), pk=pk)
        if not self.has_view_permission(request, article):
            raise PermissionDenied
        response = HttpResponse(exchange.article_markdown(article), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{article.slug}.md"'
        return response

    @admin.action(description="Export selected (.zip)")
    def export_zip(self, request, queryset):
        files, warnings = exchange.export_files(queryset.order_by("category__slug", "slug"))
        for warning in warnings:
            self.message_user(request, warning, messages.WARNING)
        response = HttpResponse(exchange.zip_bytes(files), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="articles-{timezone.now():%Y%m%d-%H%M%S}.zip"'
        return response
