from django.urls import path

from articles import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("categories/<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("tags/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("articles/<slug:slug>/", views.ArticleView.as_view(), name="article"),
    path("search/", views.search_view, name="search"),
]
