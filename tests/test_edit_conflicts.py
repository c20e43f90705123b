"""Every write in articles/services.py checks the version the caller saw, under the row lock.

The forced races, with a second connection, are in tests/test_write_races.py;
these are the rules themselves, one call at a time.
"""

import pytest
from django.core.exceptions import PermissionDenied

from articles import services
from articles.models import Article
from tests.conftest import member_of
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(db):
    return member_of("Editors", "olga")


def versions(article):
    return sorted(article.revisions.values_list("version", flat=True))


def saved_by_olga(article, olga, **changes):
    """Olga's save, from her own fresh copy of the row."""
    theirs = Article.objects.get(pk=article.pk)
    for name, value in changes.items():
        setattr(theirs, name, value)
    return services.save_article(article=theirs, by=olga, expected_version=theirs.version)


def test_a_save_from_an_older_version_is_refused_and_says_who_and_what_changed(article_factory, editor, olga):
    article = article_factory(body="Shared start.\n")
    mine = Article.objects.get(pk=article.pk)  # the editor opens the form at version 1
    saved_by_olga(article, olga, body="Olga's words.\n")

    mine.body = "Edith's words.\n"
    with pytest.raises(services.EditConflict) as raised:
        services.save_article(article=mine, by=editor, expected_version=1)

    conflict = raised.value
    assert conflict.article.version == 2 and conflict.article.body == "Olga's words.\n"
    assert conflict.saved_by == olga and conflict.who == "olga"
    assert conflict.expected_version == 1
    assert (conflict.seen_revision.version, conflict.current_revision.version) == (1, 2)
    body = next(field for field in conflict.diff if field.field == "Body")
    assert [(line.kind, line.text) for line in body.lines if line.kind != "hunk"] == [
        ("remove", "Shared start."),
        ("add", "Olga's words."),
    ]
    assert conflict.history_url.endswith(f"?from={conflict.seen_revision.pk}&to={conflict.current_revision.pk}")
    assert "olga" in str(conflict) and "version 1" in str(conflict)
    article.refresh_from_db()
    assert article.body == "Olga's words.\n" and versions(article) == [1, 2]


def test_the_version_saved_is_the_one_read_under_the_lock_not_the_callers_copy(article_factory, editor):
    article = article_factory()
    stale = Article.objects.get(pk=article.pk)
    services.save_article(article=article, by=editor, expected_version=1)
    # The system (the seed loader) may write without a version; it still numbers from the row.
    stale.body = "The system's words."
    services.save_article(article=stale, expected_version=None)
    assert stale.version == 3
    assert versions(article) == [1, 2, 3]


def test_a_user_must_say_which_version_they_saw(article_factory, editor, olga):
    article = article_factory(draft=True)
    revision = article.revisions.get()
    calls = [
        lambda: services.save_article(article=article, by=editor, expected_version=None),
        lambda: services.publish_article(article=article, by=editor, expected_version=None),
        lambda: services.unpublish_article(article=article, by=editor, expected_version=None),
        lambda: services.restore_revision(revision=revision, by=editor, expected_version=None),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="expected_version"):
            call()
    with pytest.raises(ValueError, match="new article"):
        services.save_article(article=Article(title="x"), by=editor, expected_version=1)
    assert versions(article) == [1]


def test_every_write_refuses_an_older_version(article_factory, editor, olga):
    article = article_factory(draft=True)
    first = article.revisions.get()
    saved_by_olga(article, olga, title="Olga's title")
    calls = [
        lambda: services.publish_article(article=article, by=editor, expected_version=1),
        lambda: services.unpublish_article(article=article, by=editor, expected_version=1),
        lambda: services.restore_revision(revision=first, by=editor, expected_version=1),
        lambda: services.save_article(article=article, by=editor, expected_version=1),
    ]
    for call in calls:
        with pytest.raises(services.EditConflict):
            call()
    article.refresh_from_db()
    assert (article.title, article.status, article.version) == ("Olga's title", "draft", 2)
    assert versions(article) == [1, 2]


def test_publish_writes_only_status_and_date_from_the_current_row(article_factory, editor, olga):
    article = article_factory(draft=True, body="Old body.")
    stale = Article.objects.get(pk=article.pk)  # loaded before Olga's save, as the old list action did
    new_category = CategoryFactory(name="Reliability")
    saved_by_olga(article, olga, body="Olga's body.", category=new_category)

    published = services.publish_article(article=stale, by=editor, expected_version=2)

    article.refresh_from_db()
    assert article.status == "published" and article.published_at is not None
    assert article.body == "Olga's body." and article.category == new_category
    assert published.version == article.version == 3
    latest = article.revisions.first()
    assert (latest.version, latest.note, latest.user, latest.body) == (3, "Published", editor, "Olga's body.")


def test_publishing_a_public_article_or_unpublishing_a_draft_changes_nothing(article_factory, editor):
    public, draft = article_factory(), article_factory(draft=True)
    assert services.publish_article(article=public, by=editor, expected_version=1).version == 1
    assert services.unpublish_article(article=draft, by=editor, expected_version=1).version == 1
    assert versions(public) == versions(draft) == [1]


def test_unpublish_writes_only_the_status(article_factory, editor, olga):
    article = article_factory()
    stale = Article.objects.get(pk=article.pk)
    saved_by_olga(article, olga, summary="Olga's summary.")
    services.unpublish_article(article=stale, by=editor, expected_version=2)
    article.refresh_from_db()
    assert (article.status, article.summary, article.version) == ("draft", "Olga's summary.", 3)
    assert article.revisions.first().note == "Unpublished"


def test_restore_brings_back_words_only_and_keeps_the_current_category_and_status(article_factory, editor, olga):
    article = article_factory(draft=True, title="First title", body="First body.")
    first = article.revisions.get()
    new_category = CategoryFactory(name="Reliability")
    saved_by_olga(article, olga, title="Second title", body="Second body.", category=new_category)
    services.publish_article(article=article, by=editor, expected_version=2)

    services.restore_revision(revision=first, by=editor, expected_version=3)

    article.refresh_from_db()
    assert (article.title, article.body) == ("First title", "First body.")
    assert article.body_html.strip() == "<p>First body.</p>"  # rendered again
    assert article.category == new_category and article.status == "published"
    assert versions(article) == [1, 2, 3, 4]
    assert article.revisions.first().note == "Restored version 1"


def test_an_author_may_not_restore_once_an_editor_has_published(article_factory, author, editor):
    article = article_factory(draft=True, author=author)
    first = article.revisions.get()
    services.publish_article(article=article, by=editor, expected_version=1)
    with pytest.raises(PermissionDenied):
        services.restore_revision(revision=first, by=author, expected_version=2)
    assert versions(article) == [1, 2]
