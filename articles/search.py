from django import forms
from django.db.models import Q
from django.shortcuts import render

from articles.models import Article


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True)


def search_view(request):
    form = SearchForm(request.GET)
    results = []
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        if query:
            results = (
                Article.objects.published()
                .filter(Q(title__icontains=query) | Q(summary__icontains=query))
                .for_listing()
            )
    return render(request, "articles/search.html", {"form": form, "query": query, "results": results})
