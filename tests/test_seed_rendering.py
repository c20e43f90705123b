"""The 52 seed articles look the same under cmark-gfm as they did under Python-Markdown.

`tests/data/seed-rendering.json` is what Python-Markdown 3.11.3 rendered,
captured before the switch (see tests/seed_structure.py). The comparison is of
what readers see: headings (levels, texts, ids, so old links to sections
still work), the table of contents, code blocks and their highlighting, inline
code, tables with their alignments, lists, links, emphasis, images, quotes,
footnotes, the order of blocks and the plain text. Bytes are not compared.
"""

import json
from pathlib import Path

import pytest

from tests.seed_structure import seed_structures

GOLDEN = Path(__file__).parent / "data" / "seed-rendering.json"

# Intended differences, each a GitHub behaviour Python-Markdown lacked: a bare
# URL in running text is now a link (GFM autolinks). Nothing else changed.
AUTOLINKED = {
    "designing-a-reliable-webhook-system": [["https://www.standardwebhooks.com", "https://www.standardwebhooks.com"]],
    "semantic-versioning-majorminorpatch-in-practice": [["https://semver.org", "https://semver.org"]],
}


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def current():
    return seed_structures()


def test_the_golden_file_covers_all_52_seed_articles(golden, current):
    assert len(golden) == 52
    assert set(current) == set(golden)


@pytest.mark.parametrize(
    "aspect",
    [
        "outline",
        "headings",
        "toc",
        "code_blocks",
        "inline_code",
        "tables",
        "lists",
        "emphasis",
        "images",
        "blockquotes",
        "footnotes",
        "text",
    ],
)
def test_seed_articles_render_to_the_same_visible_content(golden, current, aspect):
    changed = [slug for slug in golden if golden[slug][aspect] != current[slug][aspect]]
    assert changed == [], f"{aspect} differs in {changed[:5]}"


def test_links_are_the_same_except_bare_urls_that_github_autolinks(golden, current):
    for slug in golden:
        expected = golden[slug]["links"] + AUTOLINKED.get(slug, [])
        assert sorted(current[slug]["links"]) == sorted(expected), slug


def test_the_structure_tool_sees_what_matters(current):
    jwt = current["jwt-authentication-implementation-and-security-patterns"]
    assert jwt["headings"][0] == [2, "Access tokens and refresh tokens", "h-access-tokens-and-refresh-tokens"]
    assert jwt["toc"][0] == [1, "Access tokens and refresh tokens", "#h-access-tokens-and-refresh-tokens"]
    assert jwt["code_blocks"][0]["highlighted_tokens"] > 20
    assert jwt["tables"][0]["rows"][0] == ["Token", "Lifetime", "Format", "Where it lives", "Checked by"]
    assert "h2" in jwt["outline"] and "div.highlight" in jwt["outline"]
