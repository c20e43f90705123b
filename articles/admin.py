from django.contrib import admin
from django.utils.html import format_html

from articles.models import Article, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "public_articles"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_public_counts()

    @admin.display(description="Public articles", ordering="article_count")
    def public_articles(self, obj):
        return obj.article_count


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "state_badge", "published_at", "author", "updated_at"]
    list_filter = ["status", "category", "tags", "author"]
    list_select_related = ["category", "author"]
    search_fields = ["title", "summary", "body"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["reading_time", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body"]}),
        ("Publishing", {"fields": ["status", "published_at", "category", "tags", "author"]}),
        ("Details", {"fields": ["reading_time", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="Status", ordering="status")
    def state_badge(self, obj):
        state = obj.state
        return format_html('<span class="state state-{}">{}</span>', state.lower(), state)
