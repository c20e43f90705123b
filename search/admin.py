from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from articles.admin_changelist import EstimatedCountPaginator
from search import analytics
from search.models import Promotion, QueryLog
from search.promotions import normalise_query

# ---------------------------------------------------------------- promoted results and the search report (#13)


class ChooseArticle(AutocompleteSelect):
    """The autocomplete with an empty first choice while nothing is chosen: a required <select> needs one (HTML)."""

    def optgroups(self, name, value, attr=None):
        groups = super().optgroups(name, value, attr)
        if not any(str(v) for v in value if v is not None):
            groups.insert(0, (None, [self.create_option(name, "", "Choose a published article", False, 0)], 0))
        return groups


class PromotionForm(forms.ModelForm):
    class Meta:
        model = Promotion
        fields = ["query", "article", "description", "sort_order"]

    def clean_query(self):
        # Normalised before the uniqueness check, so "VPN!" meets the pin already made for "vpn".
        query = normalise_query(self.cleaned_data["query"])
        if not query:
            raise forms.ValidationError("Type the query as readers would: letters or digits.")
        return query


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionForm
    list_display = ["query", "article_title", "sort_order", "description", "is_public"]
    list_display_links = ["query", "article_title"]
    list_select_related = ["article"]
    list_per_page = 50
    search_fields = ["query", "article__title"]
    autocomplete_fields = ["article"]
    fields = ["query", "article", "description", "sort_order"]
    ordering = ["query", "sort_order", "id"]

    @admin.display(description="Article", ordering="article__title")
    def article_title(self, obj):
        return obj.article.title

    @admin.display(description="Shown", boolean=True, ordering="shown")
    def is_public(self, obj):
        return obj.shown

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "article":
            kwargs["widget"] = ChooseArticle(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        # "Pin an article" from the search report arrives with ?query=.
        initial = super().get_changeform_initial_data(request)
        if "query" in initial:
            initial["query"] = normalise_query(str(initial["query"]))
        return initial

    def get_queryset(self, request):
        from articles.models import Article

        # Whether readers see the pin: the article is public now (in the list's one query).
        public = Article.objects.published().filter(pk=OuterRef("article_id"))
        return super().get_queryset(request).select_related("article").annotate(shown=Exists(public))


class ReportForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(str(days), f"{days} days") for days in analytics.PERIODS],
        coerce=int,
        required=False,
        empty_value=30,
    )
    export = forms.ChoiceField(choices=[(name, name) for name in analytics.REPORTS], required=False)


@admin.register(QueryLog)
class QueryLogAdmin(admin.ModelAdmin):
    """The raw log, read-only, and the report editors use (`report_view`)."""

    list_display = ["query", "results", "corrected", "relaxed", "clicks", "duration_ms", "page", "searched_at"]
    list_filter = ["corrected", "relaxed", "script"]
    search_fields = ["query"]
    # At millions of rows: no full count, an estimate past a threshold, no facet counts.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    ordering = ["-searched_at", "-id"]
    sortable_by = []
    change_list_template = "admin/search/querylog/change_list.html"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("search.view_search_report") or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Rows go by retention (purge_search_log), not by hand.
        return False

    def get_urls(self):
        return [
            path("report/", self.admin_site.admin_view(self.report_view), name="search_querylog_report"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        if not request.user.has_perm("search.view_search_report"):
            raise PermissionDenied
        form = ReportForm(request.GET)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "form": form,
                "title": "Search report",
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/search/querylog/report.html", context, status=400)
        days, export = form.cleaned_data["days"], form.cleaned_data["export"]
        if export:
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="searches-{export}-{days}-days.csv"'
            response["Cache-Control"] = "private, no-store"
            analytics.write_csv(response, export, days)
            return response
        base = reverse("admin:search_querylog_report")
        found = analytics.report(days)
        reports = [
            {"name": name, "title": title, "rows": found[name], "csv_url": f"{base}?days={days}&export={name}"}
            for name, (title, _) in analytics.REPORTS.items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Search report",
            "form": form,
            "days": days,
            "periods": [(period, f"{base}?days={period}") for period in analytics.PERIODS],
            "totals": found["totals"],
            "reports": reports,
            "can_pin": request.user.has_perm("search.add_promotion"),
            "promotion_add_url": reverse("admin:search_promotion_add"),
            "search_url": reverse("search:search"),
            "opts": self.model._meta,
            "retention_days": settings.SEARCH_LOG_RETENTION_DAYS,
        }
        return TemplateResponse(request, "admin/search/querylog/report.html", context)
