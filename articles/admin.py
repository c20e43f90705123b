import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import connection, models
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from taggit.models import Tag

from articles import freshness, links, previews, services
from articles.admin_changelist import (
    ArticleChangeList,
    EstimatedCountPaginator,
    TagFilter,
    search_articles,
    with_article_counts,
)
from articles.admin_moderation import ModerationAdminMixin
from articles.diffs import diff_revisions, diff_texts
from articles.models import Article, ArticleRevision, Category, Feedback, Image, PreviewLink, validate_body_size
from articles.rendering import RenderError, render_markdown
from articles.uploads import UploadedImageField, upload_help_text

logger = logging.getLogger(__name__)


class StateFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("draft", "Draft"),
            ("in_review", "In review"),
            ("changes_requested", "Changes requested"),
            ("scheduled", "Scheduled"),
            ("published", "Published"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        published = queryset.filter(status=Article.Status.PUBLISHED)
        if self.value() == "draft":
            # Not published with a date: a condition on the row, not an anti-join over every article.
            return queryset.exclude(status=Article.Status.PUBLISHED, published_at__isnull=False)
        if self.value() == "scheduled":
            return published.filter(published_at__gt=now)
        if self.value() in {"in_review", "changes_requested"}:
            # Review before publishing (#17).
            return queryset.filter(moderation=self.value())
        if self.value() == "published":
            return queryset.published()
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    """Review state (#16): what needs a review, and what is overdue or flagged by a reader."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            ("needed", "Needs review"),
            ("overdue", "Overdue"),
            ("flagged", "Flagged by a reader"),
            ("never", "Never reviewed"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "needed":
            return freshness.needing_review(queryset)
        if self.value() == "overdue":
            return queryset.filter(freshness.overdue_q())
        if self.value() == "flagged":
            return queryset.filter(freshness.flagged_since_review())
        if self.value() == "never":
            return queryset.filter(review_due_at__isnull=True)
        return queryset


class OwnerFilter(admin.SimpleListFilter):
    """Articles (or feedback on articles) owned by the signed-in user: `?owner=me`, the dashboard's links."""

    title = "owner"
    parameter_name = "owner"
    prefix = ""

    def lookups(self, request, model_admin):
        return [("me", "Me"), ("nobody", "Nobody")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(**{f"{self.prefix}owner": request.user})
        if self.value() == "nobody":
            return queryset.filter(**{f"{self.prefix}owner__isnull": True})
        return queryset


class ArticleOwnerFilter(OwnerFilter):
    prefix = "article__"


def render_error(body: str) -> str | None:
    """None when the body renders; otherwise a message for its author."""
    try:
        render_markdown(body)
    except RenderError as error:
        # The renderer words its refusals for the author (too many elements, too deep).
        logger.warning("A body of %d characters was refused: %s", len(body), error)
        message = str(error)
        return message if "kept" in message else f"{message} Nothing was saved and your text is kept below."
    except Exception:
        logger.exception("A body of %d characters could not be rendered", len(body))
        return (
            "This text could not be turned into a page (for example, lists or quotes nested hundreds of levels "
            "deep). Nothing was saved and your text is kept below: simplify the structure and save again."
        )
    return None


class VersionInput(forms.HiddenInput):
    """A hidden input no label points at: the admin writes a label for every field in a fieldset."""

    def id_for_label(self, id_):
        return None


class ArticleAdminForm(forms.ModelForm):
    # The version the editor started from; a save from an older one is refused.
    edit_version = forms.IntegerField(widget=VersionInput, required=False)

    class Meta:
        model = Article
        fields = [
            "title",
            "slug",
            "summary",
            "body",
            "status",
            "published_at",
            "category",
            "tags",
            "author",
            "owner",
            "review_interval_days",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"class": "markdown-editor", "rows": 30, "spellcheck": "true"}),
            "summary": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflict = None
        if self.instance.pk:
            self.fields["edit_version"].initial = self.instance.version

    def clean_body(self):
        body = self.cleaned_data["body"]
        validate_body_size(body)
        # Rendering happens again at save; doing it here turns a body the
        # renderer cannot handle into a message beside the kept text, not a 500.
        error = render_error(body)
        if error:
            raise forms.ValidationError(error, code="unrenderable")
        return body

    def clean_slug(self):
        # Another article's old address stays theirs, so its old links keep working
        # (services.save_article enforces the same; this says it on the field).
        slug = self.cleaned_data["slug"]
        owner = services.old_slug_owner(slug, article_pk=self.instance.pk)
        if owner is not None:
            raise forms.ValidationError(services.slug_taken_message(slug, owner), code="slug_redirect_taken")
        return slug

    def clean(self):
        cleaned = super().clean()
        self.edit_conflict = None
        if self.instance.pk:
            # The admin wraps the whole save in a transaction: the row stays
            # locked from this check to services.save_article, which checks again.
            try:
                services.lock_article(self.instance.pk, expected_version=cleaned.get("edit_version"))
            except services.EditConflict as conflict:
                self.edit_conflict = conflict
                self.conflict = current = conflict.article
                # Let the next save go through once the editor has reviewed the difference.
                self.data = self.data.copy()
                self.data["edit_version"] = current.version
                raise forms.ValidationError(
                    "%(who)s saved this article while you were editing it (version %(version)s). "
                    "Nothing you typed is lost: compare your text with theirs below, "
                    "merge what you need, and save again.",
                    code="edit_conflict",
                    params={"who": conflict.who, "version": current.version},
                ) from None
        return cleaned


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "public_articles", "all_articles"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name == "articles_category_changelist":
            # Counted per category through an index; the autocomplete and forms show no counts.
            queryset = with_article_counts(queryset)
        return queryset

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "review_interval_days" in form.changed_data:
            # Articles that follow the category's interval get their new due date (#16).
            services.refresh_review_due_dates(obj)

    @admin.display(description="Public articles", ordering="article_count")
    def public_articles(self, obj):
        return obj.article_count

    @admin.display(description="All articles", ordering="total")
    def all_articles(self, obj):
        return obj.total


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "alt_text", "markdown_line", "uploaded_by", "created_at"]
    search_fields = ["alt_text"]
    readonly_fields = ["markdown_line", "uploaded_by", "created_at"]
    fields = ["file", "alt_text", "markdown_line", "uploaded_by", "created_at"]
    # Decided from the bytes and encoded again, whatever the file's name says (articles/uploads.py).
    formfield_overrides = {models.ImageField: {"form_class": UploadedImageField, "help_text": upload_help_text()}}

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, format_html("Uploaded. Paste this into an article: <code>{}</code>", obj.markdown))
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="Markdown")
    def markdown_line(self, obj):
        return format_html('<code class="copyable">{}</code>', obj.markdown) if obj.pk else "Shown after upload."

    @admin.display(description="Image")
    def thumbnail(self, obj):
        return format_html('<img src="{}" alt="" style="max-height:48px;max-width:96px">', obj.file.url)


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(admin.ModelAdmin):
    """Read-only: revisions are written by saves and read through each article's history."""

    list_display = ["article", "version", "status", "user", "created_at", "note"]
    list_select_related = ["article", "user"]
    search_fields = ["article__title", "note"]

    def get_queryset(self, request):
        visible = services.articles_visible_to(request.user, Article.objects.all())
        return super().get_queryset(request).filter(article__in=visible.values("pk"))

    def get_object(self, request, object_id, from_field=None):
        revision = super().get_object(request, object_id, from_field)
        if revision is None:
            raise Http404("No such revision.")
        return revision

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(ModerationAdminMixin, admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ["title", "category", "state_badge", "published_at", "author", "updated_at"]
    # Django's admin costs about 1 ms of rendering per row (a template variable per cell): 50 rows a page
    # keeps the list at about 100 ms at 100,000 articles; search and the filters find the rest.
    list_per_page = 50
    # No filter lists every tag: TagFilter is a box plus the most used few (articles/admin_changelist.py).
    list_filter = [StateFilter, ReviewFilter, OwnerFilter, "category", TagFilter, "author"]
    list_select_related = ["category", "author"]
    # As given on SQLite only; PostgreSQL searches the full-text index (get_search_results).
    search_fields = ["title", "summary", "body"]
    # At 100,000 articles: no second full count, an estimate past a threshold, no facet counts.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    date_hierarchy = "published_at"
    ordering = ["-updated_at"]
    sortable_by = ["title", "category", "state_badge", "published_at", "author", "updated_at"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["publish_now", "unpublish", "export_zip"]
    readonly_fields = ["reading_time", "word_count", "version_number", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body", "edit_version"]}),
        ("Publishing", {"fields": ["status", "published_at", "category", "tags", "author"]}),
        ("Review", {"fields": ["owner", "review_interval_days"]}),
        ("Details", {"fields": ["reading_time", "word_count", "version_number", "created_at", "updated_at"]}),
    ]

    class Media:
        css = {
            "all": [
                "css/pygments.css",
                "articles/admin/editor.css",
                "articles/admin/freshness.css",
                "articles/admin/moderation.css",
            ]
        }
        js = ["articles/admin/editor.js"]

    def get_queryset(self, request):
        return services.articles_visible_to(request.user, super().get_queryset(request)).prefetch_related("tags")

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def get_search_results(self, request, queryset, search_term):
        if connection.vendor != "postgresql":
            return super().get_search_results(request, queryset, search_term)
        return search_articles(queryset, search_term), False

    def get_object(self, request, object_id, from_field=None):
        # An article outside the user's queryset answers 404 everywhere (change,
        # history, delete), not the admin's redirect that admits it might exist.
        article = super().get_object(request, object_id, from_field)
        if article is None:
            raise Http404("No such article.")
        return article

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not services.can_publish(request.user):
            fields += ["status", "published_at", "author", "owner", "review_interval_days"]
        return fields

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or services.can_edit(request.user, obj)

    def has_publish_permission(self, request):
        return services.can_publish(request.user)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "body":
            field.widget.attrs["data-preview-url"] = reverse("admin:articles_article_preview")
        elif db_field.name == "published_at":
            # The admin's split widget shows "Date:" and "Time:" as bare text; name the inputs.
            date, time = field.widget.widgets
            date.attrs["aria-label"] = "Publication date (YYYY-MM-DD)"
            time.attrs["aria-label"] = "Publication time (HH:MM:SS, UTC)"
        return field

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        if not change and obj.author_id is None:
            obj.author = request.user
        expected = form.cleaned_data.get("edit_version") if change else None
        services.save_article(article=obj, by=request.user, expected_version=expected)
        self._warn_about_links(request, obj)

    def _warn_about_links(self, request, article):
        """Saved all the same: name the links that lead nowhere public, and those through a redirect (#16)."""
        problems = links.problems_for(article)
        broken = [problem for problem in problems if problem.broken]
        moved = [problem for problem in problems if not problem.broken]
        if broken:
            self.message_user(
                request,
                f"Saved, but {len(broken)} link{'s' if len(broken) != 1 else ''} in the body lead"
                f"{'s' if len(broken) == 1 else ''} to no public article: "
                + "; ".join(problem.describe() for problem in broken)
                + ". Readers following them will not find the article.",
                messages.WARNING,
            )
        if moved:
            self.message_user(
                request,
                "These links still work through a redirect; update them to the new address: "
                + "; ".join(problem.describe() for problem in moved)
                + ".",
                messages.WARNING,
            )

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))  # noqa: S308 (constant)
    def action_checkbox(self, obj):
        """Django's row checkbox, the same HTML, written directly.

        Django renders it through a form widget's template: about 0.6 ms a row,
        a third of the list's rendering at 100 rows.
        """
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), obj),
        )

    @admin.display(description="Status", ordering="status")
    def state_badge(self, obj):
        # "In review" and "Changes requested" (#17) before Draft / Scheduled / Published.
        state = obj.get_moderation_display() if obj.moderation else obj.state
        # The version shown goes back with "Publish now" and "Unpublish" (see _act_on_versions_seen).
        return format_html(
            '<span class="state-badge state-{}">{}</span><input type="hidden" name="seen_version_{}" value="{}">',
            state.lower().replace(" ", "-"),
            state,
            obj.pk,
            obj.version,
        )

    @admin.display(description="Version")
    def version_number(self, obj):
        return obj.version if obj.pk else "—"

    @admin.action(description="Publish now", permissions=["publish"])
    def publish_now(self, request, queryset):
        changed = self._act_on_versions_seen(request, queryset, services.publish_article, done="published")
        self.message_user(request, f"Published {changed} article{'s' if changed != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Unpublish (back to draft)", permissions=["publish"])
    def unpublish(self, request, queryset):
        changed = self._act_on_versions_seen(request, queryset, services.unpublish_article, done="moved back to draft")
        self.message_user(
            request, f"Moved {changed} article{'s' if changed != 1 else ''} back to draft.", messages.SUCCESS
        )

    def _act_on_versions_seen(self, request, queryset, operation, *, done):
        """Apply a publishing service to each selected row still at the version the list showed; report the rest.

        Each row goes back with its version (a hidden input beside its status).
        A row saved by someone else since the list was loaded is left alone and
        the editor is told who changed it, with a link to the difference. Rows
        on other pages, selected with "Select all", were never shown: they are
        taken as they are now (the service still locks and re-checks them).
        Returns how many articles changed.
        """
        select_across = request.POST.get("select_across") == "1"
        changed = 0
        for article in queryset.order_by("pk"):
            seen = request.POST.get(f"seen_version_{article.pk}", "")
            if seen.isdigit():
                expected = int(seen)
            elif select_across:
                expected = article.version
            else:
                self.message_user(
                    request,
                    f"“{article.title}” was not {done}: the list did not say which version you saw. "
                    "Reload the list and try again.",
                    messages.ERROR,
                )
                continue
            try:
                result = operation(article=article, by=request.user, expected_version=expected)
            except services.EditConflict as conflict:
                self.message_user(
                    request,
                    format_html(
                        "“{}” was not {}: {} saved it after you loaded this list (you saw version {}, "
                        'it is now version {}). <a href="{}">See what changed</a>, then try again.',
                        conflict.article.title,
                        done,
                        conflict.who,
                        expected,
                        conflict.article.version,
                        conflict.history_url,
                    ),
                    messages.ERROR,
                )
                continue
            changed += result.version != expected
        return changed

    def changelist_view(self, request, extra_context=None):
        # Django silently ignores an action the user may not run; say so instead.
        action = request.POST.get("action") if request.method == "POST" else None
        if action in {"publish_now", "unpublish"} and not services.can_publish(request.user):
            self.message_user(request, "Only editors can publish or unpublish articles.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        if request.method == "GET" and "tags__id__exact" in request.GET:
            return self._tag_filter_by_slug(request)
        return super().changelist_view(request, extra_context)

    def _tag_filter_by_slug(self, request):
        """`?tags__id__exact=N` (Django's own lookup, in old bookmarks) as the tag filter, `?tag=<slug>`.

        Django's lookup joins every tagging and de-duplicates the rows (530 ms at 100,000 articles);
        TagFilter reads the tag's articles through its index.
        """
        params = request.GET.copy()
        tag_id = params.pop("tags__id__exact")[-1]
        slug = Tag.objects.filter(pk=tag_id).values_list("slug", flat=True).first() if tag_id.isdigit() else None
        params["tag"] = slug or tag_id
        return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")

    # ------------------------------------------------------------ extra views

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(require_POST(self.preview_view)), name="articles_article_preview"),
            path("links/", view(self.link_report_view), name="articles_article_link_report"),
            path("helpfulness/", view(self.helpfulness_view), name="articles_article_helpfulness"),
            path("<int:pk>/reviewed/", view(require_POST(self.mark_reviewed_view)), name="articles_article_reviewed"),
            path("<int:pk>/revisions/", view(self.revisions_view), name="articles_article_revisions"),
            path(
                "<int:pk>/revisions/<int:revision_id>/restore/",
                view(require_POST(self.restore_view)),
                name="articles_article_restore",
            ),
            path(
                "<int:pk>/preview-link/",
                view(require_POST(self.preview_link_view)),
                name="articles_article_preview_link",
            ),
            path(
                "<int:pk>/preview-link/<int:link_id>/revoke/",
                view(require_POST(self.revoke_preview_link_view)),
                name="articles_article_preview_link_revoke",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The body rendered by the same pipeline as the public page (staff only, POST)."""
        if not self.has_add_permission(request) and not self.has_change_permission(request):
            raise PermissionDenied
        body = request.POST.get("body", "")
        try:
            validate_body_size(body)
        except forms.ValidationError as error:
            return JsonResponse({"error": error.messages[0]}, status=400)
        try:
            rendered = render_markdown(body)
        except Exception:
            return JsonResponse({"error": render_error(body)}, status=400)
        return JsonResponse(
            {"html": rendered.html, "words": rendered.word_count, "reading_time": rendered.reading_time}
        )

    def _article_for(self, request, pk, *, edit=False):
        article = get_object_or_404(self.get_queryset(request), pk=pk)
        allowed = self.has_change_permission(request, article) if edit else self.has_view_permission(request, article)
        if not allowed:
            raise PermissionDenied
        return article

    def revisions_view(self, request, pk):
        article = self._article_for(request, pk)
        revisions = list(article.revisions.select_related("user"))
        diff = None
        old_id, new_id = request.GET.get("from"), request.GET.get("to")
        if old_id and new_id:
            by_id = {str(revision.pk): revision for revision in revisions}
            if old_id not in by_id or new_id not in by_id:
                raise Http404("No such revision of this article.")
            diff = diff_revisions(by_id[old_id], by_id[new_id])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"History of “{article.title}”",
            "article": article,
            "revisions": revisions,
            "diff": diff,
            "selected": (old_id, new_id),
            "can_restore": self.has_change_permission(request, article),
        }
        return TemplateResponse(request, "admin/articles/article/revisions.html", context)

    def restore_view(self, request, pk, revision_id):
        article = self._article_for(request, pk, edit=True)
        revision = get_object_or_404(ArticleRevision, pk=revision_id, article=article)
        seen = request.POST.get("expected_version", "")
        if not seen.isdigit():
            self.message_user(
                request,
                f"Version {revision.version} was not restored: the page did not say which version of "
                f"“{article.title}” you saw. Reload the history and try again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:articles_article_revisions", args=[pk]))
        try:
            services.restore_revision(revision=revision, by=request.user, expected_version=int(seen))
        except services.EditConflict as conflict:
            self.message_user(
                request,
                format_html(
                    "Version {} was not restored: {} saved “{}” after you opened its history (you saw version {}, "
                    'it is now version {}). <a href="{}">See what changed</a> (below), then restore again if you '
                    "still want to.",
                    revision.version,
                    conflict.who,
                    conflict.article.title,
                    conflict.expected_version,
                    conflict.article.version,
                    conflict.history_url,
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(conflict.history_url)
        self.message_user(request, f"Restored version {revision.version}; the restore is saved as a new revision.")
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[pk]))

    def preview_link_view(self, request, pk):
        article = self._article_for(request, pk, edit=True)
        link = previews.create_preview_link(article=article, by=request.user)
        url = request.build_absolute_uri(link.get_absolute_url())
        self.message_user(
            request,
            format_html(
                'Preview link for reviewers, valid for {} days or until revoked: <a href="{}">{}</a>',
                previews.PREVIEW_DAYS,
                url,
                url,
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[pk]) + "#preview-links-heading")

    def revoke_preview_link_view(self, request, pk, link_id):
        article = self._article_for(request, pk)
        link = get_object_or_404(PreviewLink, pk=link_id, article=article)
        if not previews.can_manage(request.user, link):
            raise Http404("No such preview link.")
        previews.revoke_preview_link(link=link, by=request.user)
        self.message_user(request, "Revoked the preview link: it no longer opens the article.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[pk]) + "#preview-links-heading")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if article is None:
            raise Http404("No such article.")
        links = list(previews.links_visible_to(request.user, article))
        for link in links:
            link.absolute_url = request.build_absolute_uri(link.get_absolute_url())
            link.can_revoke = previews.can_manage(request.user, link)
        context = {
            "preview_links": links,
            "can_share": article.state != "Published" and services.can_edit(request.user, article),
            "preview_days": previews.PREVIEW_DAYS,
            **self._review_context(request, article),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if getattr(form, "conflict", None) is not None:
            theirs = form.conflict
            if getattr(form, "edit_conflict", None) is not None:
                self.message_user(
                    request,
                    format_html(
                        '{} saved “{}” while you were editing it. <a href="{}">See what they changed</a> '
                        "since the version you opened.",
                        form.edit_conflict.who,
                        theirs.title,
                        form.edit_conflict.history_url,
                    ),
                    messages.ERROR,
                )
            context["conflict"] = {
                "article": theirs,
                "diff": diff_texts(
                    {"Title": theirs.title, "Summary": theirs.summary, "Body": theirs.body},
                    {
                        "Title": form.data.get("title", ""),
                        "Summary": form.data.get("summary", ""),
                        "Body": form.data.get("body", ""),
                    },
                    old_label=f"Saved version {theirs.version}",
                    new_label="Your text",
                ),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    # ------------------------------------------------------------ reviews, feedback, links (#16)

    def _review_context(self, request, article):
        """The change form's "Review" panel: last review, due date, readers' answers."""
        votes = Feedback.objects.filter(article=article)
        tally = votes.aggregate(total=Count("pk"), yes=Count("pk", filter=Q(helpful=True)))
        flagged = Article.objects.filter(pk=article.pk).filter(freshness.flagged_since_review()).exists()
        return {
            "review": {
                "can_review": services.can_review(request.user, article),
                "last_reviewed_at": article.last_reviewed_at,
                "last_reviewed_by": article.last_reviewed_by,
                "due_at": article.review_due_at,
                "overdue": freshness.is_overdue(article),
                "interval_days": freshness.interval_days(article),
                "flagged": flagged,
                "note_max": services.REVIEW_NOTE_MAX,
                "votes": tally["total"],
                "yes_share": round(100 * tally["yes"] / tally["total"]) if tally["total"] else None,
                "comments": list(votes.exclude(comment="")[:5]),
                "feedback_url": reverse("admin:articles_feedback_changelist") + f"?article__id__exact={article.pk}",
            }
        }

    def mark_reviewed_view(self, request, pk):
        """ "Still accurate": one click, recorded as a review with an optional note."""
        article = get_object_or_404(self.get_queryset(request), pk=pk)
        if not services.can_review(request.user, article):
            raise PermissionDenied
        change = reverse("admin:articles_article_change", args=[pk])
        seen = request.POST.get("expected_version", "")
        if not seen.isdigit():
            self.message_user(
                request,
                "Not recorded: the page did not say which version you saw. Reload it and try again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(change)
        try:
            article = services.mark_reviewed(
                article=article, by=request.user, expected_version=int(seen), note=request.POST.get("note", "")
            )
        except services.EditConflict as conflict:
            self.message_user(
                request,
                format_html(
                    "Not recorded: {} saved “{}” after you opened it (you saw version {}, it is now version {}). "
                    '<a href="{}">See what changed</a>, then mark it reviewed again if it is still accurate.',
                    conflict.who,
                    conflict.article.title,
                    conflict.expected_version,
                    conflict.article.version,
                    conflict.history_url,
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(change)
        due = f"next review due {article.review_due_at:%-d %b %Y}" if article.review_due_at else "no further review due"
        self.message_user(request, f"Recorded: “{article.title}” is still accurate ({due}).", messages.SUCCESS)
        return HttpResponseRedirect(change)

    def link_report_view(self, request):
        """Every public article with links that reach no public article, or only through a redirect."""
        rows, more = links.report()
        visible = set(
            self.get_queryset(request).filter(pk__in={row.source.pk for row in rows}).values_list("pk", flat=True)
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Links between articles",
            "broken": [row for row in rows if row.problem.broken and row.source.pk in visible],
            "redirected": [row for row in rows if not row.problem.broken and row.source.pk in visible],
            "more": more,
            "limit": links.REPORT_LIMIT,
        }
        return TemplateResponse(request, "admin/articles/article/link_report.html", context)

    def helpfulness_view(self, request):
        """The least helpful articles: the lowest share of "Yes", among those with enough answers."""
        minimum = 3
        visible = self.get_queryset(request).values("pk")
        rows = list(
            Feedback.objects.filter(article__in=visible)
            .values("article_id", "article__title")
            .annotate(
                total=Count("pk"),
                yes=Count("pk", filter=Q(helpful=True)),
                comments=Count("pk", filter=~Q(comment="")),
            )
            .filter(total__gte=minimum)
            .order_by()
        )
        for row in rows:
            row["share"] = round(100 * row["yes"] / row["total"])
            row["feedback_url"] = (
                reverse("admin:articles_feedback_changelist") + f"?article__id__exact={row['article_id']}&commented=yes"
            )
        rows.sort(key=lambda row: (row["yes"] / row["total"], -row["total"], row["article__title"]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Least helpful articles",
            "rows": rows[:50],
            "minimum": minimum,
        }
        return TemplateResponse(request, "admin/articles/article/helpfulness.html", context)


class HasCommentFilter(admin.SimpleListFilter):
    title = "comment"
    parameter_name = "commented"

    def lookups(self, request, model_admin):
        return [("yes", "With a comment"), ("no", "Without")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(comment="")
        if self.value() == "no":
            return queryset.filter(comment="")
        return queryset


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Readers' answers to "Was this helpful?": read-only, as readers left them (#16)."""

    list_display = ["article", "answer", "comment", "created_at"]
    list_filter = ["helpful", HasCommentFilter, ArticleOwnerFilter, "created_at"]
    list_select_related = ["article"]
    search_fields = ["comment", "article__title"]
    date_hierarchy = "created_at"
    fields = ["article", "helpful", "comment", "created_at"]

    def get_queryset(self, request):
        visible = services.articles_visible_to(request.user, Article.objects.all())
        return super().get_queryset(request).filter(article__in=visible.values("pk"))

    @admin.display(description="Helpful?", ordering="helpful")
    def answer(self, obj):
        return "Yes" if obj.helpful else "No"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("articles.change_article")

    def has_module_permission(self, request):
        return request.user.has_perm("articles.change_article")
