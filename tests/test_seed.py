from pathlib import Path

import pytest
from django.utils.text import slugify

from articles.models import Article
from articles.seed import SEED_DIR, load_seed, read_seed_file

pytestmark = pytest.mark.django_db

LISTING = Path(__file__).parent / "data" / "product-engineering.txt"
VOCABULARY = {
    "api", "architecture", "caching", "containers", "databases", "devops",
    "messaging", "observability", "performance", "reliability", "security", "testing",
}  # fmt: skip


def seed_listing():
    """(title, summary) pairs of the real page, in its order."""
    lines = LISTING.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Product Engineering"
    # The page glues its "52 results" line to the first title.
    assert lines[1].startswith("52 results")
    lines[1] = lines[1].removeprefix("52 results")
    return list(zip(lines[1::2], lines[2::2], strict=True))


def seed_files():
    return sorted((SEED_DIR / "product-engineering").glob("*.md"))


def test_seed_files_reproduce_the_listing_titles_and_summaries_exactly():
    listing = seed_listing()
    files = [read_seed_file(path) for path in seed_files()]
    assert len(listing) == 52
    assert [(f["title"], f["summary"]) for f in files] == listing
    assert [f["slug"] for f in files] == [slugify(title) for title, _ in listing]


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_every_seed_article_has_a_real_body(path):
    data = read_seed_file(path)
    words = len(data["body"].split())
    assert 400 <= words <= 900, f"{words} words"
    assert "\n## " in "\n" + data["body"]
    assert any(line.lstrip().startswith(("- ", "* ", "1. ")) for line in data["body"].splitlines())
    assert 2 <= len(data["tags"]) <= 5
    assert set(data["tags"]) <= VOCABULARY


def test_load_seed_creates_52_public_articles(seeded):
    assert len(seeded.created) == 52
    assert Article.objects.published().count() == 52


def test_seeded_articles_are_not_dated_as_updated(seeded):
    for article in Article.objects.published():
        assert article.updated_at == article.published_at
        assert not article.updated_after_publishing


def test_load_seed_is_idempotent(seeded):
    before = {a.slug: (a.updated_at, a.body_html) for a in Article.objects.all()}
    report = load_seed()
    assert report.created == report.updated == report.kept_edited == []
    assert len(report.unchanged) == 52
    after = {a.slug: (a.updated_at, a.body_html) for a in Article.objects.all()}
    assert after == before


def test_load_seed_never_overwrites_an_editors_change(seeded):
    article = Article.objects.get(slug="load-testing-with-k6")
    article.body = "An editor rewrote this."
    article.save()
    article.tags.add("editors-pick")

    report = load_seed()
    assert report.kept_edited == ["load-testing-with-k6"]
    article.refresh_from_db()
    assert article.body == "An editor rewrote this."
    assert "editors-pick" in article.tags.names()


def test_load_seed_leaves_a_renamed_article_alone_and_its_old_url_redirecting(seeded, editor):
    from articles import services

    article = Article.objects.get(slug="load-testing-with-k6")
    article.slug = "k6-load-tests"
    services.save_article(article=article, by=editor, expected_version=article.version)

    report = load_seed()
    assert report.created == [] and report.kept_edited == ["load-testing-with-k6"]
    assert Article.objects.count() == 52
    assert article.slug_redirects.get().old_slug == "load-testing-with-k6"


def test_load_seed_updates_an_unedited_article_when_its_file_changes(seeded, tmp_path):
    import shutil

    shutil.copytree(SEED_DIR, tmp_path / "seed")
    path = next((tmp_path / "seed" / "product-engineering").glob("17-*.md"))
    path.write_text(path.read_text(encoding="utf-8").replace("## ", "## Revised: ", 1), encoding="utf-8")

    report = load_seed(tmp_path / "seed")
    assert report.updated == ["load-testing-with-k6"]
    assert "Revised: " in Article.objects.get(slug="load-testing-with-k6").body


def test_seed_publish_dates_put_the_listing_in_the_seed_order(seeded):
    titles = list(
        Article.objects.published().filter(category__slug="product-engineering").values_list("title", flat=True)
    )
    assert titles == [title for title, _ in seed_listing()]
