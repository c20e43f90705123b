"""Search quality, measured on the seed: precision@1 and mean reciprocal rank.

The queries in tests/relevance/*.tsv were written from the seed articles'
content; each names the article that should come first. Typos must find their
article in the top 3 (through the "Did you mean" correction where needed).
"""

from pathlib import Path

import pytest
from django.urls import reverse

from tests.search_helpers import result_slugs

pytestmark = pytest.mark.django_db

RELEVANCE_DIR = Path(__file__).parent / "relevance"


def relevance_set():
    rows = []
    for path in sorted(RELEVANCE_DIR.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                query, slug, kind = line.split("\t")
                rows.append((query, slug, kind))
    return rows


def rank_of(client, query, slug):
    html = client.get(reverse("search:search"), {"q": query}).content.decode()
    slugs = result_slugs(html)
    return slugs.index(slug) + 1 if slug in slugs else None


def test_relevance_set_is_large_and_covers_every_kind():
    rows = relevance_set()
    assert len(rows) >= 40
    assert {kind for _, _, kind in rows} >= {"title", "concept", "acronym", "plural", "typo"}


def test_search_quality_meets_the_bar(client, seeded, capsys):
    rows = relevance_set()
    ranks = {(query, slug, kind): rank_of(client, query, slug) for query, slug, kind in rows}

    reciprocal = [1 / rank if rank else 0.0 for rank in ranks.values()]
    mrr = sum(reciprocal) / len(reciprocal)
    precision_at_1 = sum(1 for rank in ranks.values() if rank == 1) / len(ranks)
    misses = sorted((kind, query, slug, rank) for (query, slug, kind), rank in ranks.items() if rank != 1)
    with capsys.disabled():
        print(f"\nrelevance: {len(ranks)} queries, P@1 {precision_at_1:.3f}, MRR {mrr:.3f}")
        for kind, query, slug, rank in misses:
            print(f"  {kind:8} rank {rank}: {query!r} -> {slug}")

    typo_misses = [
        (query, rank) for (query, _, kind), rank in ranks.items() if kind == "typo" and not (rank and rank <= 3)
    ]
    assert typo_misses == []
    assert mrr >= 0.9
