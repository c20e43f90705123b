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


def member_of(group_name, username):
    from django.contrib.auth.models import Group

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db):
    return member_of("Editors", "edith")


@pytest.fixture
def author(db):
    return member_of("Authors", "arthur")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client
