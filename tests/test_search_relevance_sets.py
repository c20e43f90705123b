"""Relevance measured against a plain BM25 baseline on the same documents (#13).

Four query sets over the 52 seed articles, each query naming the article that
should come first (tests/relevance/):
- question: questions readers type ("why does retrying make an outage worse");
- shorthand: acronyms, tool names and two-word jargon ("hpa", "jwt vs sessions");
- title: every seed article's own title;
- typo: the misspelled queries of tests/relevance/batch-*.tsv.

The baseline is what Lucene, Elasticsearch and OpenSearch do by default:
BM25 (k1 1.2, b 0.75) over Snowball-stemmed words minus English stop words,
the title counted three times and the tags and summary twice. kb must do at
least as well as the baseline on every set (MRR@10), and reach 0.9 on questions.
"""

import re
from pathlib import Path

import pytest
import snowballstemmer
from rank_bm25 import BM25Okapi

from articles.models import Article
from search import engine

pytestmark = pytest.mark.django_db

RELEVANCE_DIR = Path(__file__).parent / "relevance"
CUTOFF = 10

# PostgreSQL's and Snowball's English stop words (tsearch_data/english.stop).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while of
    at by for with about against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don should now""".split()
)
_stemmer = snowballstemmer.stemmer("english")


def tokens(text: str) -> list[str]:
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOP_WORDS]
    return _stemmer.stemWords(words)


def read_set(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (RELEVANCE_DIR / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            query, slug, _ = line.split("\t")
            rows.append((query, slug))
    return rows


def query_sets(articles) -> dict[str, list[tuple[str, str]]]:
    typos = [
        (query, slug)
        for path in sorted(RELEVANCE_DIR.glob("batch-*.tsv"))
        for query, slug, kind in (line.split("\t") for line in path.read_text().splitlines() if line.strip())
        if kind == "typo"
    ]
    return {
        "question": read_set("questions.tsv"),
        "shorthand": read_set("shorthand.tsv"),
        "title": [(a.title, a.slug) for a in articles],
        "typo": typos,
    }


class Baseline:
    def __init__(self, articles):
        self.slugs = [a.slug for a in articles]
        corpus = []
        for a in articles:
            tags_summary = " ".join(a.tags.names()) + " " + a.summary
            corpus.append(tokens(a.title) * 3 + tokens(tags_summary) * 2 + tokens(a.body_text))
        self.bm25 = BM25Okapi(corpus, k1=1.2, b=0.75)

    def ranking(self, query: str) -> list[str]:
        scores = self.bm25.get_scores(tokens(query))
        order = sorted(range(len(self.slugs)), key=lambda i: -scores[i])
        return [self.slugs[i] for i in order if scores[i] > 0][:CUTOFF]


def kb_ranking(query: str) -> list[str]:
    outcome = engine.run(Article.objects.published(), query)
    return list(outcome.results.values_list("slug", flat=True)[:CUTOFF])


def measure(rank, queries) -> tuple[float, float, list]:
    """(MRR@10, P@1, misses) of a ranking function over (query, expected slug) pairs."""
    reciprocal, misses = [], []
    for query, slug in queries:
        found = rank(query)
        position = found.index(slug) + 1 if slug in found else None
        reciprocal.append(1 / position if position else 0.0)
        if position != 1:
            misses.append((query, slug, position, found[:1]))
    p_at_1 = sum(1 for r in reciprocal if r == 1.0) / len(reciprocal)
    return sum(reciprocal) / len(reciprocal), p_at_1, misses


def test_the_query_sets_are_large_enough(seeded):
    sets = query_sets(Article.objects.published())
    assert len(sets["question"]) >= 80
    assert len(sets["shorthand"]) >= 40
    assert len(sets["title"]) == 52
    assert len(sets["typo"]) >= 30
    known = set(Article.objects.published().values_list("slug", flat=True))
    assert {slug for rows in sets.values() for _, slug in rows} <= known


def test_kb_ranks_at_least_as_well_as_bm25_on_every_query_set(seeded, capsys):
    articles = list(Article.objects.published().prefetch_related("tags").order_by("pk"))
    baseline = Baseline(articles)
    results, sets = {}, query_sets(articles)
    for name, queries in sets.items():
        results[name] = (measure(kb_ranking, queries), measure(baseline.ranking, queries)[:2])
    with capsys.disabled():
        print("\n| set | queries | kb MRR@10 | kb P@1 | BM25 MRR@10 | BM25 P@1 |\n|---|---:|---:|---:|---:|---:|")
        for name, ((mrr, p1, _), (base_mrr, base_p1)) in results.items():
            print(f"| {name} | {len(sets[name])} | {mrr:.3f} | {p1:.3f} | {base_mrr:.3f} | {base_p1:.3f} |")
        for name, ((_, _, misses), _) in results.items():
            for query, slug, position, first in misses:
                print(f"  {name:9} rank {position}: {query!r} -> {slug} (first: {first})")
    for name, ((mrr, _, _), (base_mrr, _)) in results.items():
        assert mrr >= base_mrr, f"{name}: kb MRR {mrr:.3f} below the BM25 baseline's {base_mrr:.3f}"
    assert results["question"][0][0] >= 0.9
