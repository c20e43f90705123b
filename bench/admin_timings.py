"""Time the admin pages an editor uses, in-process, against the database in DATABASE_URL.

    DATABASE_URL=postgres://…/kb_scale SECRET_KEY=… .venv/bin/python bench/admin_timings.py [repeats]

Production settings apart from the page cache (the admin never uses it) and
HTTPS (the test client speaks plain HTTP). Signs in as a superuser named
`admin-bench`, created if missing. Prints p50 / p95 / max per page, in ms.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The test settings: production apart from plain static file names (no collectstatic needed).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings_test")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("PAGE_CACHE", "0")
os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from taggit.models import Tag  # noqa: E402

from articles.models import Article, Category  # noqa: E402


def main(repeats: int) -> None:
    user, _ = get_user_model().objects.get_or_create(
        username="admin-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    category = Category.objects.order_by("pk").first()
    tag = Tag.objects.order_by("pk").first()
    article = Article.objects.order_by("-pk").first()
    pages = {
        "changelist": "/admin/articles/article/",
        "changelist ?q=circuit": "/admin/articles/article/?q=circuit",
        "changelist ?q=circ (prefix)": "/admin/articles/article/?q=circ",
        "changelist ?q=service": "/admin/articles/article/?q=service",
        "changelist ?q=retries with": "/admin/articles/article/?q=retries+with",
        "changelist tag filter": f"/admin/articles/article/?tag={tag.slug}",
        "changelist category filter": f"/admin/articles/article/?category__id__exact={category.pk}",
        "changelist status=draft": "/admin/articles/article/?state=draft",
        "changelist status=scheduled": "/admin/articles/article/?state=scheduled",
        "changelist status=published": "/admin/articles/article/?state=published",
        "changelist author filter": f"/admin/articles/article/?author__id__exact={article.author_id}",
        "changelist page 100": "/admin/articles/article/?p=100",
        "categories": "/admin/articles/category/",
        "category autocomplete": (
            "/admin/autocomplete/?term=cat&app_label=articles&model_name=article&field_name=category"
        ),
        "change form": f"/admin/articles/article/{article.pk}/change/",
        "add form": "/admin/articles/article/add/",
    }
    for name, url in pages.items():
        times, status = [], None
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            status = response.status_code
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:32} {status}  p50 {statistics.median(times):8.1f}  p95 {p95:8.1f}  max {times[-1]:8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
