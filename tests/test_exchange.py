"""Markdown in, Markdown out (#17): export_articles, import_articles, the admin's downloads, and the round trip."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage
from taggit.models import Tag

from articles import exchange, services
from articles.models import Article, ArticleRevision, Category, Image
from tests.factories import ArticleFactory, CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db

FEATURES_BODY = """\
# Überblick

Text with a footnote.[^note] And an image:

![Ein Diagramm]({image_url})

```python
print("héllo")
```

| a | b |
| - | - |
| 1 | 2 |

[^note]: Die Fußnote, with `code`.
"""


def png_bytes(colour="blue"):
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def tree(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


def export(directory, **options):
    out = io.StringIO()
    call_command("export_articles", str(directory), stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def import_(directory, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_articles", str(directory), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def empty_the_database():
    Article.objects.all().delete()
    Category.objects.all().delete()
    Image.objects.all().delete()
    Tag.objects.all().delete()


@pytest.fixture
def every_feature(seeded, editor, author, settings, tmp_path):
    """Beside the seed: articles with tags, footnotes, an image, a scheduled date, non-ASCII and CRLF text."""
    settings.MEDIA_ROOT = tmp_path / "media-before"
    image = Image.objects.create(
        file=SimpleUploadedFile("diagram.png", png_bytes(), content_type="image/png"), alt_text="Ein Diagramm"
    )
    category = CategoryFactory(
        slug="handbuch", name="Handbuch für Ingenieure", description="Zeilen\nmit Umbruch", review_interval_days=91
    )
    ArticleFactory(
        category=category,
        title="Größen und Maße: “Zitate” — ünd 日本語",
        slug="groessen-und-masse",
        summary="Eine Zusammenfassung: mit Doppelpunkt, 'Apostroph' und #Raute.",
        body=FEATURES_BODY.format(image_url=image.file.url),
        tags=["Überblick", "api", "zeta"],
        author=author,
        owner=editor,
        review_interval_days=30,
    )
    ArticleFactory(
        category=category,
        title="Scheduled: next week",
        slug="scheduled-next-week",
        scheduled=True,
        published_at=timezone.now() + timedelta(days=7, microseconds=123),
        body="Windows line endings.\r\nSecond line.\r\n",
        tags=["later"],
    )
    ArticleFactory(
        category=category,
        title="---",
        slug="a-draft",
        draft=True,
        summary="Two\nlines",
        body="---\nstarts with a rule\n\n\ntrailing blank lines\n\n\n",
        author=author,
    )
    return category


def test_export_import_into_an_empty_database_export_again_is_byte_identical(every_feature, tmp_path, settings):
    first, second = tmp_path / "first", tmp_path / "second"
    export(first)
    exported = tree(first)
    articles = [name for name in exported if name.endswith(".md")]
    assert len(articles) == Article.objects.count() == 55
    assert any(name.startswith("media/images/") for name in exported)

    empty_the_database()
    settings.MEDIA_ROOT = tmp_path / "media-after"
    out, err = import_(first)
    assert err == ""
    assert "55 created" in out
    export(second)
    assert tree(second) == exported
    # The report quoted in the closing note.
    print(f"round trip: {len(articles)} articles, {len(exported)} files, {sum(map(len, exported.values()))} bytes")


def test_an_exported_article_reads_as_the_seed_format(every_feature, tmp_path):
    tmp_path = tmp_path / "out"
    export(tmp_path, category="handbuch")
    text = (tmp_path / "handbuch" / "groessen-und-masse.md").read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: 'Größen und Maße: “Zitate” — ünd 日本語'\nslug: groessen-und-masse\n")
    assert "tags: [api, zeta, Überblick]\n" in text
    assert "author: arthur\nowner: edith\nreview_interval_days: 30\n---\n\n# Überblick\n" in text
    assert sorted(tree(tmp_path)) == [
        "categories.yaml",
        "handbuch/a-draft.md",
        "handbuch/groessen-und-masse.md",
        "handbuch/scheduled-next-week.md",
        f"media/{Image.objects.get().file.name}",
    ]
    assert "review_interval_days: 91" in (tmp_path / "categories.yaml").read_text(encoding="utf-8")


def test_export_by_status(every_feature, tmp_path):
    export(tmp_path / "drafts", status="draft")
    assert [name for name in tree(tmp_path / "drafts") if name.endswith(".md")] == ["handbuch/a-draft.md"]
    export(tmp_path / "scheduled", status="scheduled")
    assert [name for name in tree(tmp_path / "scheduled") if name.endswith(".md")] == [
        "handbuch/scheduled-next-week.md"
    ]


def test_import_is_idempotent_and_a_change_is_an_update_by_the_user_given(every_feature, editor, tmp_path):
    export(tmp_path)
    revisions = ArticleRevision.objects.count()
    out, _ = import_(tmp_path)
    assert "0 created, 0 updated, 55 unchanged, 0 refused" in out
    assert ArticleRevision.objects.count() == revisions

    path = tmp_path / "handbuch" / "groessen-und-masse.md"
    path.write_bytes(path.read_bytes().replace(b"Text with a footnote.", b"Text with one footnote."))
    out, _ = import_(tmp_path, user="edith")
    assert "1 updated, 54 unchanged" in out
    article = Article.objects.get(slug="groessen-und-masse")
    assert "Text with one footnote." in article.body
    revision = article.revisions.first()
    assert (revision.user, revision.note) == (editor, "Imported from Markdown")


def test_dry_run_says_what_would_change_and_changes_nothing(every_feature, tmp_path):
    export(tmp_path)
    path = tmp_path / "handbuch" / "a-draft.md"
    path.write_bytes(path.read_bytes().replace(b"starts with a rule", b"starts with a line"))
    new = tmp_path / "handbuch" / "brand-new.md"
    new.write_text("---\ntitle: New\nslug: brand-new\nsummary: S.\ncategory: handbuch\n---\n\nBody.\n", "utf-8")
    (tmp_path / "handbuch" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    before = (Article.objects.count(), ArticleRevision.objects.count(), Article.objects.get(slug="a-draft").body)
    out, err = import_(tmp_path, dry_run=True)
    assert "created brand-new (handbuch/brand-new.md)" in out
    assert "updated a-draft (handbuch/a-draft.md)" in out
    assert "body: 2 lines changed" in out and "-starts with a rule" in out and "+starts with a line" in out
    assert "unchanged groessen-und-masse" in out
    assert "refused handbuch/broken.md:1: no front matter" in err
    assert "Would import: 1 created, 1 updated, 54 unchanged, 1 refused" in out
    after = (Article.objects.count(), ArticleRevision.objects.count(), Article.objects.get(slug="a-draft").body)
    assert after == before


def write(directory: Path, name: str, content: bytes | str):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def article_file(slug, *, category="guides", extra="", body="Body.\n"):
    return f"---\ntitle: {slug.title()}\nslug: {slug}\nsummary: A summary.\ncategory: {category}\n{extra}---\n\n{body}"


def test_bad_files_are_reported_by_file_and_line_and_nothing_else_is_skipped(db, tmp_path, settings, author):
    write(tmp_path, "categories.yaml", "- slug: guides\n  name: Guides\n")
    write(tmp_path, "guides/good.md", article_file("good", extra="tags: [a, b]\n"))
    write(tmp_path, "guides/no-front-matter.md", "# Just a heading\n")
    write(tmp_path, "guides/unknown-category.md", article_file("unknown-cat", category="nowhere"))
    write(tmp_path, "guides/dup-one.md", article_file("twice"))
    write(tmp_path, "guides/dup-two.md", article_file("twice"))
    write(tmp_path, "guides/too-big.md", article_file("too-big", body="x" * (settings.ARTICLE_BODY_MAX_BYTES + 1)))
    write(tmp_path, "guides/latin1.md", article_file("latin1", body="Line one.\nCaf\xe9\n").encode("latin-1"))
    write(tmp_path, "guides/nobody.md", article_file("nobody", extra="author: ghost\n"))
    write(tmp_path, "guides/bad-yaml.md", "---\ntitle: [unclosed\nslug: x\n---\n\nBody.\n")
    write(tmp_path, "guides/bad-slug.md", article_file("Not A Slug!"))
    write(tmp_path, "guides/known-author.md", article_file("known-author", extra="author: arthur\nstatus: draft\n"))
    out, err = import_(tmp_path)
    refused = dict(line.split(": ", 1) for line in err.strip().splitlines())
    assert refused == {
        "refused guides/bad-slug.md:3": refused["refused guides/bad-slug.md:3"],
        "refused guides/bad-yaml.md:3": refused["refused guides/bad-yaml.md:3"],
        "refused guides/dup-one.md:3": "duplicate slug 'twice': also in guides/dup-two.md",
        "refused guides/dup-two.md:3": "duplicate slug 'twice': also in guides/dup-one.md",
        "refused guides/latin1.md:9": refused["refused guides/latin1.md:9"],
        "refused guides/no-front-matter.md:1": "no front matter: the file must start with a line '---'",
        "refused guides/nobody.md:6": "author 'ghost': no user has that name (create the user first)",
        "refused guides/too-big.md:8": refused["refused guides/too-big.md:8"],
        "refused guides/unknown-category.md:5": (
            "unknown category 'nowhere' (not in categories.yaml nor in the database)"
        ),
    }
    assert refused["refused guides/bad-slug.md:3"].startswith("slug:")
    assert "not valid UTF-8" in refused["refused guides/latin1.md:9"]
    assert "the limit is" in refused["refused guides/too-big.md:8"]
    assert "not valid YAML" in refused["refused guides/bad-yaml.md:3"]
    assert sorted(Article.objects.values_list("slug", flat=True)) == ["good", "known-author"]
    good = Article.objects.get(slug="good")
    assert (good.status, good.published_at, sorted(good.tags.names())) == ("draft", None, ["a", "b"])
    assert Article.objects.get(slug="known-author").author == author
    assert "2 created, 0 updated, 0 unchanged, 9 refused" in out


def test_status_and_dates_come_from_the_front_matter_unless_as_drafts(db, tmp_path):
    CategoryFactory(slug="guides", name="Guides")
    write(tmp_path, "guides/live.md", article_file("live", extra="published_at: '2024-05-01T08:00:00Z'\n"))
    write(tmp_path, "guides/later.md", article_file("later", extra="published_at: '2099-01-01T00:00:00Z'\n"))
    import_(tmp_path)
    live, later = Article.objects.get(slug="live"), Article.objects.get(slug="later")
    assert live.state == "Published" and live.published_at.isoformat() == "2024-05-01T08:00:00+00:00"
    assert later.state == "Scheduled"
    Article.objects.all().delete()
    import_(tmp_path, as_drafts=True)
    assert set(Article.objects.values_list("status", flat=True)) == {"draft"}


def test_an_author_importing_gets_drafts_and_cannot_change_published_articles(db, tmp_path, author):
    CategoryFactory(slug="guides", name="Guides")
    ArticleFactory(slug="existing", category=Category.objects.get(slug="guides"))
    write(tmp_path, "guides/mine.md", article_file("mine", extra="published_at: '2024-05-01T08:00:00Z'\n"))
    write(tmp_path, "guides/existing.md", article_file("existing", body="Rewritten.\n"))
    out, err = import_(tmp_path, user="arthur")
    assert Article.objects.get(slug="mine").status == "draft"
    assert "refused guides/existing.md" in err and "may not write this article" in err
    assert Article.objects.get(slug="existing").body != "Rewritten.\n"


def test_import_never_overwrites_a_save_made_since_it_compared(db, tmp_path, editor, monkeypatch):
    CategoryFactory(slug="guides", name="Guides")
    article = ArticleFactory(slug="contested", category=Category.objects.get(slug="guides"))
    write(tmp_path, "guides/contested.md", article_file("contested", body="From the file.\n"))
    real = services.save_article

    def someone_saves_first(**kwargs):
        # An editor's save lands between the import's read and its write.
        current = Article.objects.get(pk=article.pk)
        current.body = "The editor's words.\n"
        real(article=current, by=editor, expected_version=current.version)
        return real(**kwargs)

    monkeypatch.setattr(services, "save_article", someone_saves_first)
    _, err = import_(tmp_path)
    assert "refused guides/contested.md:1" in err and "Nothing was overwritten" in err
    # (The editor's save here ran inside the import's own savepoint, so it is rolled back with it.)
    assert Article.objects.get(pk=article.pk).body != "From the file.\n"


def test_categories_are_created_and_updated_by_slug(db, tmp_path):
    CategoryFactory(slug="guides", name="Old name")
    write(tmp_path, "categories.yaml", "- slug: guides\n  name: Guides\n  position: 3\n- slug: new\n  name: New\n")
    out, _ = import_(tmp_path)
    assert "category created new" in out and "category updated guides" in out
    assert Category.objects.get(slug="guides").name == "Guides"
    out, _ = import_(tmp_path)
    assert "category" not in out.split("Imported")[0]


def test_the_admin_downloads_an_article_as_markdown(every_feature, editor_client, author_client, author):
    article = Article.objects.get(slug="groessen-und-masse")
    response = editor_client.get(reverse("admin:articles_article_markdown", args=[article.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="groessen-und-masse.md"'
    assert response.content.decode() == exchange.article_markdown(article)
    # Authors download their own articles only.
    other = Article.objects.get(slug="scheduled-next-week")
    author_client.force_login(author)
    assert author_client.get(reverse("admin:articles_article_markdown", args=[other.pk])).status_code == 404
    assert author_client.get(reverse("admin:articles_article_markdown", args=[article.pk])).status_code == 200


def test_the_admin_exports_selected_articles_as_a_zip(every_feature, editor_client):
    selected = Article.objects.filter(category__slug="handbuch")
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "export_zip", "_selected_action": [article.pk for article in selected]},
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names == [
        "categories.yaml",
        "handbuch/a-draft.md",
        "handbuch/groessen-und-masse.md",
        "handbuch/scheduled-next-week.md",
        f"media/{Image.objects.get().file.name}",
    ]


def test_load_seed_reads_with_the_importer(db):
    from articles.seed import load_seed

    report = load_seed()
    assert len(report.created) == 52 and report.refused == []
    assert all(revision.note == "Loaded from the seed" for revision in ArticleRevision.objects.all())
    user = UserFactory(username="later")
    assert user  # users play no part in the seed
