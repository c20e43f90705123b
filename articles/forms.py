from django import forms
from django.core.validators import slug_re


class PageForm(forms.Form):
    """`?page=N` on listings: a whole number from 1, or absent."""

    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)


MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12
MAX_TAG_FILTERS = 10


class SlugListField(forms.Field):
    """A repeatable slug parameter (`?tag=a&tag=b`), capped in number."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_items, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_python(self, value):
        return list(dict.fromkeys(item.strip().lower() for item in (value or []) if item.strip()))

    def validate(self, value):
        super().validate(value)
        if len(value) > self.max_items:
            raise forms.ValidationError(f"Filter by at most {self.max_items} tags at once.", code="too_many")
        if any(len(item) > 100 or not slug_re.match(item) for item in value):
            raise forms.ValidationError("Tags in the address are made of letters, digits and hyphens.", code="invalid")


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search for")
    category = forms.SlugField(required=False, max_length=140)
    tag = SlugListField(required=False, max_items=MAX_TAG_FILTERS)
    sort = forms.ChoiceField(
        required=False, choices=[("relevance", "Best match"), ("newest", "Newest first")], label="Sort by"
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1000)
    # Set by the "Search instead for" link: the words as typed, no typo correction.
    verbatim = forms.BooleanField(required=False)

    truncated = False

    def clean_q(self):
        q = " ".join(self.cleaned_data["q"].split())
        words = q.split(" ")
        if len(q) > MAX_QUERY_CHARS or len(words) > MAX_QUERY_WORDS:
            # A search box is no place for an essay; keep the start and say so.
            q = " ".join(words[:MAX_QUERY_WORDS])[:MAX_QUERY_CHARS].strip()
            self.truncated = True
        return q
