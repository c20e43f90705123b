"""The site's URLs plus a view that fails, for tests of error handling."""

from django.urls import path

from kb.urls import handler404, handler500  # noqa: F401
from kb.urls import urlpatterns as site_urlpatterns


def broken_view(request):
    raise RuntimeError("the secret internals of a bug")


urlpatterns = [path("broken/", broken_view, name="broken"), *site_urlpatterns]
