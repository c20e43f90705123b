from django import forms


class PageForm(forms.Form):
    """`?page=N` on listings: a whole number from 1, or absent."""

    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)
