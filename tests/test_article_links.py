"""Links that don't rot (#16): links recorded at save, "Referenced by", warnings, the report, renamed slugs."""

import pytest
from django.urls import reverse

from articles import links, services
from articles.models import ArticleLink
from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db


def test_link_slugs_finds_relative_and_own_absolute_links_once(settings):
    settings.ALLOWED_HOSTS = ["kb.example.com", ".example.org"]
    html = (
        '<a href="/articles/one/">1</a> <a href="/articles/two/#h-x">2</a> <a href="/articles/one">again</a>'
        '<a href="https://kb.example.com/articles/three/?utm=x">3</a> <a href="https://elsewhere.com/articles/no/">x</a>'
        '<a href="/categories/four/">c</a> <a href="mailto:a@b.c">m</a> <a href="/articles/five/feedback/">f</a>'
    )
    assert links.link_slugs(html) == ["one", "two", "three"]


def test_links_are_recorded_at_save_and_replaced_when_the_body_changes(article_factory, editor):
    article = article_factory(body="See [one](/articles/one/) and [two](/articles/two/).")
    assert set(article.outgoing_links.values_list("target_slug", flat=True)) == {"one", "two"}
    article.body = "Only [two](/articles/two/) and [three](/articles/three/)."
    services.save_article(article=article, by=editor, expected_version=article.version)
    assert set(article.outgoing_links.values_list("target_slug", flat=True)) == {"two", "three"}


def test_referenced_by_shows_public_backlinks_including_links_to_old_slugs(client, article_factory, editor):
    target = article_factory(title="Target", slug="target")
    article_factory(title="Public linker", body="[t](/articles/target/)")
    article_factory(title="Draft linker", body="[t](/articles/target/)", draft=True)
    page = client.get(target.get_absolute_url()).content.decode()
    assert "Referenced by" in page and "Public linker" in page and "Draft linker" not in page
    # Renamed: links to the old address still count.
    target.slug = "target-renamed"
    services.save_article(article=target, by=editor, expected_version=target.version)
    page = client.get(target.get_absolute_url()).content.decode()
    assert "Public linker" in page


def test_an_article_without_backlinks_shows_no_section(client, article_factory):
    assert "Referenced by" not in client.get(article_factory().get_absolute_url()).content.decode()


def test_saving_with_links_to_missing_or_unpublished_articles_warns_and_saves(editor_client, article_factory):
    article_factory(slug="a-draft", draft=True)
    article_factory(slug="fine")
    article = article_factory()
    body = "[gone](/articles/gone/) [draft](/articles/a-draft/) [ok](/articles/fine/)"
    response = editor_client.post(change_url(article), form_data(article, body=body), follow=True)
    html = response.content.decode()
    assert "was changed successfully" in html
    assert "2 links in the body lead to no public article" in html
    assert "/articles/gone/ (no such article)" in html and "/articles/a-draft/ (not public: Draft)" in html
    assert "/articles/fine/" not in html.split("lead to no public article")[1].split("</li>")[0]
    article.refresh_from_db()
    assert article.body == body


def test_a_link_through_a_redirect_is_named_with_the_new_address(editor_client, editor, article_factory):
    target = article_factory(slug="old-name")
    target.slug = "new-name"
    services.save_article(article=target, by=editor, expected_version=target.version)
    article = article_factory()
    response = editor_client.post(change_url(article), form_data(article, body="[t](/articles/old-name/)"), follow=True)
    assert "/articles/old-name/ (renamed: now /articles/new-name/)" in response.content.decode()
    assert client_follows_redirect(target)


def client_follows_redirect(target):
    from django.test import Client

    response = Client().get("/articles/old-name/")
    return response.status_code == 301 and response["Location"] == target.get_absolute_url()


def test_the_report_lists_public_articles_with_broken_and_redirected_links(editor_client, editor, article_factory):
    moved = article_factory(slug="before")
    moved.slug = "after"
    services.save_article(article=moved, by=editor, expected_version=moved.version)
    article_factory(slug="hidden", draft=True)
    article_factory(title="Linker", body="[a](/articles/missing/) [b](/articles/before/) [c](/articles/hidden/)")
    article_factory(title="Draft linker", draft=True, body="[a](/articles/missing-too/)")
    article_factory(title="Good linker", body="[a](/articles/after/)")
    page = editor_client.get(reverse("admin:articles_article_link_report"))
    html = page.content.decode()
    assert page.status_code == 200
    broken, redirected = html.split('id="redirected-heading"')
    assert "/articles/missing/" in broken and "No such article" in broken
    assert "/articles/hidden/" in broken and "Draft" in broken
    assert "/articles/before/" in redirected and "/articles/after/" in redirected
    assert "missing-too" not in html and "Good linker" not in html


def test_the_report_runs_a_fixed_number_of_queries(editor_client, article_factory, django_assert_max_num_queries):
    for n in range(30):
        article_factory(body=f"[x](/articles/missing-{n}/) [y](/articles/article-number-{n}/)")
    editor_client.get(reverse("admin:articles_article_link_report"))
    with django_assert_max_num_queries(12):
        assert editor_client.get(reverse("admin:articles_article_link_report")).status_code == 200


def test_deleting_the_source_deletes_its_links(article_factory):
    article = article_factory(body="[t](/articles/x/)")
    article.delete()
    assert not ArticleLink.objects.exists()
