"""The synonyms list in the admin (#13, search/synonyms.py): what editors change, the search uses at once."""

from django.contrib import admin
from django.utils.html import format_html

from search.models import Synonym


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    list_display = ["term", "means", "two_way", "updated_at"]
    list_filter = ["two_way"]
    search_fields = ["term", "means"]
    ordering = ["term"]
    readonly_fields = ["searched_as", "updated_at"]
    fields = ["term", "means", "two_way", "searched_as", "updated_at"]

    @admin.display(description="Searched as")
    def searched_as(self, obj):
        if not obj.pk:
            return "—"
        meanings = ", ".join(f"“{m.strip()}”" for m in obj.means.split(",") if m.strip())
        if obj.two_way:
            return format_html("“{}” also searches for {}, and each of those for “{}”.", obj.term, meanings, obj.term)
        return format_html("“{}” also searches for {}.", obj.term, meanings)
