import pytest

from articles.seed import load_seed
from tests.factories import ArticleFactory, CategoryFactory, UserFactory


@pytest.fixture
def category(db):
    return CategoryFactory(name="Product Engineering", slug="product-engineering")


@pytest.fixture
def article_factory(db):
    return ArticleFactory


@pytest.fixture
def staff_user(db):
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def seeded(db):
    """The 52 seed articles, loaded the way `make run` loads them."""
    return load_seed()
