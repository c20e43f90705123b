import re

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db


def test_article_list_shows_states_and_offers_filters(editor_client, article_factory):
    article_factory(title="A draft", draft=True)
    article_factory(title="A scheduled one", scheduled=True)
    article_factory(title="A public one")
    html = editor_client.get(reverse("admin:articles_article_changelist")).content.decode()
    for state in ("Draft", "Scheduled", "Published"):
        assert f'class="state-badge state-{state.lower()}">{state}<' in html
    for filter_param in ("state=draft", "state=scheduled", "state=published"):
        assert filter_param in html
    scheduled = editor_client.get(reverse("admin:articles_article_changelist"), {"state": "scheduled"}).content.decode()
    assert "A scheduled one" in scheduled and "A draft" not in scheduled and "A public one" not in scheduled


def test_admin_search_covers_title_summary_and_body(editor_client, article_factory):
    article_factory(title="Alpha", body="the word platypus lives here")
    article_factory(title="Beta")
    html = editor_client.get(reverse("admin:articles_article_changelist"), {"q": "platypus"}).content.decode()
    assert "Alpha" in html and ">Beta<" not in html


def test_editor_adds_and_publishes_an_article_without_leaving_the_admin(editor_client, editor, category, client):
    response = editor_client.post(
        reverse("admin:articles_article_add"),
        {
            "title": "Backpressure in practice",
            "slug": "backpressure-in-practice",
            "summary": "Queues, limits and shedding load.",
            "body": "## Why\n\nBecause queues grow.\n\n```python\nqueue.put(item, timeout=1)\n```\n",
            "status": "published",
            "published_at_0": "",
            "published_at_1": "",
            "category": category.pk,
            "tags": "reliability, performance",
            "author": editor.pk,
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(slug="backpressure-in-practice")
    assert article.author == editor
    assert article.published_at is not None and article.published_at <= timezone.now()
    assert article.revisions.count() == 1

    client.logout()
    assert client.get(article.get_absolute_url()).status_code == 200
    assert 'data-article="backpressure-in-practice"' in client.get(category.get_absolute_url()).content.decode()
    assert 'data-article="backpressure-in-practice"' in client.get("/tags/reliability/").content.decode()
    found = client.get(reverse("search:search"), {"q": "backpressure"}).content.decode()
    assert 'data-article="backpressure-in-practice"' in found


def test_author_is_set_to_the_current_user_on_create(author_client, author, category):
    response = author_client.post(
        reverse("admin:articles_article_add"),
        {
            "title": "Mine",
            "slug": "mine",
            "summary": "s",
            "body": "b",
            "category": category.pk,
            "tags": "",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert Article.objects.get(slug="mine").author == author


def test_publish_now_and_unpublish_actions_say_how_many_changed(editor_client, article_factory):
    drafts = [article_factory(draft=True), article_factory(scheduled=True)]
    url = reverse("admin:articles_article_changelist")

    def seen():  # what the list shows beside each row's status, and posts back with the action
        listing = editor_client.get(url).content.decode()
        return dict(re.findall(r'name="(seen_version_\d+)" value="(\d+)"', listing))

    response = editor_client.post(
        url, {"action": "publish_now", "_selected_action": [a.pk for a in drafts], **seen()}, follow=True
    )
    assert "Published 2 articles." in response.content.decode()
    assert Article.objects.published().count() == 2

    response = editor_client.post(
        url, {"action": "unpublish", "_selected_action": [a.pk for a in drafts], **seen()}, follow=True
    )
    assert "Moved 2 articles back to draft." in response.content.decode()
    assert Article.objects.published().count() == 0


def test_publish_now_without_the_versions_the_list_showed_changes_nothing_and_says_so(editor_client, article_factory):
    draft = article_factory(draft=True, title="Unseen draft")
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish_now", "_selected_action": [draft.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "“Unseen draft” was not published: the list did not say which version you saw." in html
    assert "Published 0 articles." in html
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT and draft.version == 1


def test_select_all_publishes_rows_on_other_pages_as_they_are_now(editor_client, article_factory):
    shown, not_shown = article_factory(draft=True), article_factory(draft=True)
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {
            "action": "publish_now",
            "select_across": "1",
            "index": "0",
            "_selected_action": [shown.pk],
            f"seen_version_{shown.pk}": "1",
        },
        follow=True,
    )
    assert "Published 2 articles." in response.content.decode()
    assert set(Article.objects.published()) == {shown, not_shown}


def test_author_cannot_use_publish_actions_and_is_told(author_client, author, article_factory):
    mine = article_factory(draft=True, author=author)
    response = author_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish_now", "_selected_action": [mine.pk]},
        follow=True,
    )
    assert "Only editors can publish or unpublish articles." in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == Article.Status.DRAFT


def test_change_form_has_editor_preview_hooks_and_no_inline_script(editor_client, article_factory):
    article = article_factory()
    html = editor_client.get(change_url(article)).content.decode()
    assert 'class="markdown-editor"' in html
    assert f'data-preview-url="{reverse("admin:articles_article_preview")}"' in html
    assert "articles/admin/editor.js" in html
    inline_scripts = [
        s for s in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if s[1].strip() and "json" not in s[0]
    ]
    assert inline_scripts == []


def test_preview_endpoint_renders_with_the_public_pipeline(editor_client):
    response = editor_client.post(
        reverse("admin:articles_article_preview"), {"body": "## Hi\n\n```python\nx = 1\n```\n<script>alert(1)</script>"}
    )
    assert response.status_code == 200
    payload = response.json()
    assert '<h2 id="h-hi">' in payload["html"]
    assert '<div class="highlight">' in payload["html"]
    assert "<script" not in payload["html"]
    assert payload["reading_time"] == 1 and payload["words"] > 0


def test_preview_endpoint_refuses_a_body_over_the_limit(editor_client, settings):
    response = editor_client.post(
        reverse("admin:articles_article_preview"), {"body": "x" * (settings.ARTICLE_BODY_MAX_BYTES + 1)}
    )
    assert response.status_code == 400
    assert "the limit is" in response.json()["error"]


def test_preview_endpoint_is_staff_only_and_post_only(client, editor_client):
    url = reverse("admin:articles_article_preview")
    anonymous = client.__class__().post(url, {"body": "x"})
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert editor_client.get(url).status_code == 405


def test_preview_endpoint_refuses_non_staff(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="reader"))
    response = client.post(reverse("admin:articles_article_preview"), {"body": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_categories_admin_shows_counts(editor_client, article_factory, category):
    article_factory.create_batch(2, category=category)
    article_factory(category=category, draft=True)
    html = editor_client.get(reverse("admin:articles_category_changelist")).content.decode()
    assert '<td class="field-public_articles">2</td>' in html
    assert '<td class="field-all_articles">3</td>' in html


def test_saving_twice_in_a_row_from_fresh_forms_works(editor_client, article_factory):
    article = article_factory()
    assert editor_client.post(change_url(article), form_data(article, title="One")).status_code == 302
    article.refresh_from_db()
    assert editor_client.post(change_url(article), form_data(article, title="Two")).status_code == 302
    article.refresh_from_db()
    assert article.title == "Two"
