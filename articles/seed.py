"""Load the seed articles kept as Markdown files with front matter.

A thin use of the importer (articles/exchange.py), the one reader of the
format, in its seed mode. Idempotent: running it again changes nothing. An
article is only rewritten from its file when nobody has edited it since it
was loaded (its content still matches the checksum stored at load time); an
editor's work always wins. Categories are created when missing and never
changed.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from articles.models import Article

SEED_DIR = Path(__file__).resolve().parent / "seed"


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


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


def read_seed_file(path: Path) -> dict:
    """One seed file, read by the importer's reader; seed files must also give a publication date."""
    from articles.exchange import BadFile, parse_article

    try:
        parsed = parse_article(path.read_bytes(), path.name)
    except BadFile as error:
        raise ValueError(f"{path.name}: {error}") from None
    meta = parsed.meta
    if meta["published_at"] is None:
        raise ValueError(f"{path.name}: front matter lacks published_at")
    return {
        "title": meta["title"],
        "slug": meta["slug"],
        "summary": meta["summary"],
        "category_slug": meta["category"],
        "tags": meta["tags"],
        "published_at": meta["published_at"],
        "status": meta["status"],
        "body": parsed.body,
    }


def load_seed(directory: Path = SEED_DIR) -> SeedReport:
    from articles.exchange import import_directory

    result = import_directory(directory, seed=True)
    report = SeedReport()
    lists = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "kept": report.kept_edited,
    }
    for outcome in result.outcomes:
        if outcome.kind == "refused":
            report.refused.append(outcome.describe())
        else:
            lists[outcome.kind].append(outcome.slug)
    return report
