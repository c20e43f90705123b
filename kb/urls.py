from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path

from articles import api
from kb import csp_reports, headers, health
from kb.login import LoginForm
from kb.metrics import metrics_view

# The sign-in form with the username's length enforced (kb/login.py).
admin.site.login_form = LoginForm

urlpatterns = [
    # Answered by kb.health.HealthCheckMiddleware before routing; named here for reverse().
    path("livez", health.livez, name="livez"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Where browsers send CSP violation reports (kb/csp_reports.py), and the favicon where they look for it.
    path("csp-reports/", csp_reports.receive, name="csp-report"),
    path("favicon.ico", headers.favicon, name="favicon"),
    # The read-only JSON API (articles/api.py); any other /api/ address is a JSON 404.
    path("api/v1/", api.urls()),
    re_path(r"^api/", api.not_found),
    # The search page (search/urls.py); the search app owns its pages.
    path("", include("search.urls")),
    path("", include("articles.urls")),
]

handler404 = "articles.views.page_not_found"
handler500 = "kb.errors.server_error"

if settings.DEBUG:
    # In production, uploaded media comes from object storage or the proxy.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
