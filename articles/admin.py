import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from articles import previews, services
from articles.admin_changelist import (
    ArticleChangeList,
    EstimatedCountPaginator,
    TagFilter,
    search_articles,
    with_article_counts,
)
from articles.diffs import diff_revisions, diff_texts
from articles.models import Article, ArticleRevision, Category, Image, PreviewLink, validate_body_size
from articles.rendering import render_markdown

logger = logging.getLogger(__name__)


class StateFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        now = timezone.now()
        published = queryset.filter(status=Article.Status.PUBLISHED)
        if self.value() == "draft":
            # Not published with a date: a condition on the row, not an anti-join over every article.
            return queryset.exclude(status=Article.Status.PUBLISHED, published_at__isnull=False)
        if self.value() == "scheduled":
            return published.filter(published_at__gt=now)
        if self.value() == "published":
            return queryset.published()
        return queryset


def render_error(body: str) -> str | None:
    """None when the body renders; otherwise a message for its author."""
    try:
        render_markdown(body)
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
        fields = ["title", "slug", "summary", "body", "status", "published_at", "category", "tags", "author"]
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
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ["title", "category", "state_badge", "published_at", "author", "updated_at"]
    # No filter lists every tag: TagFilter is a box plus the most used few (articles/admin_changelist.py).
    list_filter = [StateFilter, "category", TagFilter, "author"]
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
    actions = ["publish_now", "unpublish"]
    readonly_fields = ["reading_time", "word_count", "version_number", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body", "edit_version"]}),
        ("Publishing", {"fields": ["status", "published_at", "category", "tags", "author"]}),
        ("Details", {"fields": ["reading_time", "word_count", "version_number", "created_at", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["css/pygments.css", "articles/admin/editor.css"]}
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
            fields += ["status", "published_at", "author"]
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

    @admin.display(description="Status", ordering="status")
    def state_badge(self, obj):
        state = obj.state
        # The version shown goes back with "Publish now" and "Unpublish" (see _act_on_versions_seen).
        return format_html(
            '<span class="state-badge state-{}">{}</span><input type="hidden" name="seen_version_{}" value="{}">',
            state.lower(),
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
        return super().changelist_view(request, extra_context)

    # ------------------------------------------------------------ extra views

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(require_POST(self.preview_view)), name="articles_article_preview"),
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
