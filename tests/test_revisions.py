import re

import pytest
from django.urls import reverse

from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db


def edit(client, article, **changes):
    article.refresh_from_db()
    response = client.post(change_url(article), form_data(article, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    return article


def test_every_save_stores_a_revision_with_who_and_what(editor_client, editor, article_factory):
    article = article_factory()
    before = article.revisions.count()
    edit(editor_client, article, body="Second draft of the body.")
    edit(editor_client, article, title="A better title")
    revisions = list(article.revisions.all())
    assert len(revisions) == before + 2
    latest = revisions[0]
    assert latest.user == editor
    assert latest.title == "A better title"
    assert latest.body == "Second draft of the body."
    assert latest.status == article.status


def test_history_page_lists_revisions_and_shows_a_diff(editor_client, article_factory):
    article = article_factory(body="line one\nline two\n")
    edit(editor_client, article, body="line one\nline 2\n")
    revisions = list(article.revisions.all())
    url = reverse("admin:articles_article_revisions", args=[article.pk])
    html = editor_client.get(url).content.decode()
    assert html.count('name="from"') == len(revisions)
    html = editor_client.get(url, {"from": revisions[-1].pk, "to": revisions[0].pk}).content.decode()
    assert '<span class="diff-remove">− line two</span>' in html
    assert '<span class="diff-add">+ line 2</span>' in html


def test_diff_escapes_what_authors_wrote(editor_client, article_factory):
    article = article_factory(body="safe")
    edit(editor_client, article, body="<script>alert(1)</script>")
    revisions = list(article.revisions.all())
    url = reverse("admin:articles_article_revisions", args=[article.pk])
    html = editor_client.get(url, {"from": revisions[-1].pk, "to": revisions[0].pk}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_revision_ids_are_a_404(editor_client, article_factory):
    article = article_factory()
    url = reverse("admin:articles_article_revisions", args=[article.pk])
    assert editor_client.get(url, {"from": "999999", "to": "abc"}).status_code == 404


def test_restoring_a_revision_brings_back_its_words_as_a_new_revision(editor_client, article_factory):
    article = article_factory(body="The original words.")
    edit(editor_client, article, body="Overwritten by mistake.")
    original = article.revisions.order_by("created_at", "id").first()
    count = article.revisions.count()
    history = editor_client.get(reverse("admin:articles_article_revisions", args=[article.pk])).content.decode()
    seen = re.search(r'name="expected_version" value="(\d+)"', history).group(1)
    response = editor_client.post(
        reverse("admin:articles_article_restore", args=[article.pk, original.pk]), {"expected_version": seen}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == "The original words."
    assert article.revisions.count() == count + 1
    assert article.revisions.first().note == f"Restored version {original.version}"


def test_restore_needs_post(editor_client, article_factory):
    article = article_factory()
    revision = article.revisions.first()
    assert (
        editor_client.get(reverse("admin:articles_article_restore", args=[article.pk, revision.pk])).status_code == 405
    )


def test_second_save_from_a_stale_form_is_refused_and_nothing_is_lost(
    client, editor, article_factory, django_user_model
):
    from tests.conftest import member_of

    other = member_of("Editors", "olga")
    article = article_factory(body="Shared starting text.")
    stale = form_data(article)

    first = client.__class__()
    first.force_login(other)
    assert first.post(change_url(article), form_data(article, body="Olga's version.")).status_code == 302

    second = client.__class__()
    second.force_login(editor)
    stale.update(body="Edith's version.")
    response = second.post(change_url(article), stale)
    assert response.status_code == 200
    html = response.content.decode()
    assert "saved this article while you were editing it" in html
    assert "Olga&#x27;s version." in html or "Olga's version." in html
    assert "Edith&#x27;s version." in html or "Edith's version." in html  # still in the form
    article.refresh_from_db()
    assert article.body == "Olga's version."

    # Having seen the difference, the editor saves again and it goes through.
    import re

    version = re.search(r'name="edit_version" value="(\d+)"', html).group(1)
    stale.update(edit_version=version)
    assert second.post(change_url(article), stale).status_code == 302
    article.refresh_from_db()
    assert article.body == "Edith's version."
