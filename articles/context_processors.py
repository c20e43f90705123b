from django.conf import settings
from django.utils.functional import SimpleLazyObject


def site(request):
    from articles.models import Category

    return {
        "site_name": settings.SITE_NAME,
        # Lazy: pages that never show the navigation never query for it.
        "nav_categories": SimpleLazyObject(lambda: list(Category.objects.all())),
    }
