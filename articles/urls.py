from django.urls import path, register_converter

from articles import views


class SignedTokenConverter:
    """What django.core.signing produces: URL-safe base64 and colons, nothing else."""

    regex = r"[A-Za-z0-9_\-:]{20,500}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(SignedTokenConverter, "signed")

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("categories/<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("tags/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("articles/<slug:slug>/", views.ArticleView.as_view(), name="article"),
    path("search/", views.search_view, name="search"),
    path("preview/<signed:token>/", views.preview_view, name="preview"),
]
