"""Load the seed articles kept as Markdown files with front matter.

Idempotent: running it again changes nothing. An article is only rewritten
from its file when nobody has edited it since it was loaded (its content still
matches the checksum stored at load time); an editor's work always wins.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import frontmatter
import yaml
from django.db import transaction

from articles.models import Article, Category
from articles.services import EditConflict, old_slug_owner, save_article

SEED_DIR = Path(__file__).resolve().parent / "seed"


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)


def checksum(*, title, summary, body, category_slug, tags, status, published_at) -> str:
    payload = {
        "title": title,
        "summary": summary,
        "body": body,
        "category": category_slug,
        "tags": sorted(tag.lower() for tag in tags),
        "status": status,
        "published_at": published_at.isoformat() if published_at else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def article_checksum(article: Article) -> str:
    return checksum(
        title=article.title,
        summary=article.summary,
        body=article.body,
        category_slug=article.category.slug,
        tags=[tag.name for tag in article.tags.all()],
        status=article.status,
        published_at=article.published_at,
    )


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def read_seed_file(path: Path) -> dict:
    post = frontmatter.load(path)
    meta = post.metadata
    missing = {"title", "slug", "summary", "category", "published_at"} - meta.keys()
    if missing:
        raise ValueError(f"{path.name}: front matter lacks {', '.join(sorted(missing))}")
    return {
        "title": meta["title"],
        "slug": meta["slug"],
        "summary": meta["summary"],
        "category_slug": meta["category"],
        "tags": list(meta.get("tags") or []),
        "published_at": _parse_time(meta["published_at"]),
        "status": Article.Status.PUBLISHED,
        "body": post.content.strip() + "\n",
    }


def ensure_categories(directory: Path) -> dict[str, Category]:
    definitions = yaml.safe_load((directory / "categories.yaml").read_text(encoding="utf-8"))
    categories = {}
    for definition in definitions:
        category, _ = Category.objects.get_or_create(
            slug=definition["slug"],
            defaults={
                "name": definition["name"],
                "description": definition.get("description", ""),
                "position": definition.get("position", 0),
            },
        )
        categories[category.slug] = category
    return categories


@transaction.atomic
def load_seed(directory: Path = SEED_DIR) -> SeedReport:
    report = SeedReport()
    categories = ensure_categories(directory)
    for path in sorted(directory.glob("*/*.md")):
        data = read_seed_file(path)
        category = categories[data.pop("category_slug")]
        tags = data.pop("tags")
        slug = data.pop("slug")
        wanted = checksum(category_slug=category.slug, tags=tags, **data)
        article = Article.objects.filter(slug=slug).select_related("category").first()
        if article is None and old_slug_owner(slug) is not None:
            # An editor renamed this article: it lives on under its new slug, and this one redirects there.
            report.kept_edited.append(slug)
            continue
        if article is None:
            article = Article(slug=slug, category=category, **data)
            report.created.append(slug)
        elif article.seed_checksum != article_checksum(article):
            # Edited since it was loaded (or never loaded by us): keep it.
            report.kept_edited.append(slug)
            continue
        elif article.seed_checksum == wanted:
            report.unchanged.append(slug)
            continue
        else:
            for name, value in data.items():
                setattr(article, name, value)
            article.category = category
            report.updated.append(slug)
        article.seed_checksum = wanted
        article.full_clean(exclude=["seed_checksum"])
        try:
            # Only over the version just compared: an editor's save since then wins.
            save_article(
                article=article, expected_version=article.version if article.pk else None, note="Loaded from the seed"
            )
        except EditConflict:
            report.updated.remove(slug)
            report.kept_edited.append(slug)
            continue
        article.tags.set(tags)
        if slug in report.created and article.published_at is not None:
            # Loading the original text is not an update: readers and feeds see
            # "modified" only once the article really changes.
            Article.objects.filter(pk=article.pk).update(updated_at=article.published_at)
    return report
