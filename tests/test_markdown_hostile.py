"""Hostile bodies render quickly, in linear time, and safely (issue 12).

Before cmark-gfm, Python-Markdown 3.11.3 took more than 8 s on `"[" * 5000`
(5 KB), `"# a\\n" * 8000` (32 KB) or `"<a" * 40000`, and raised RecursionError
on a list nested 250 deep. `tests/hostile_corpus.py` has those bodies and a
couple of hundred more, each at the 200 KB cap.

Speed targets are a benchmark's job, not a timed unit test's: `make
bench-markdown` (bench/markdown.py) times every body against the 100 ms render
and 200 ms preview targets. Here, every body must render, come out safe and
shallow, and answer through the preview endpoint; and the linear-growth tests
compare a ratio (10 KB against 200 KB of the same pattern), which holds on a
slow or shared machine too.

Bodies that would make more than `MAX_ELEMENTS` elements (51,200 links or
emphasis spans at the cap) are refused with a message for the author; the
pipeline's safety and linearity are still checked on them, with the limit
lifted.
"""

import re
import time

import pytest
from django.urls import reverse

from articles import rendering
from articles.rendering import MAX_DEPTH, MAX_ELEMENTS, RenderError, render_markdown
from tests.hostile_corpus import CAP, corpus, fill
from tests.test_rendering import problems_in

CORPUS = corpus()


def cpu_time(function, runs=3, enough=None):
    """Best CPU time of up to `runs` calls; stops early once under `enough`."""
    best = None
    for _ in range(runs):
        start = time.process_time()
        function()
        elapsed = time.process_time() - start
        best = elapsed if best is None else min(best, elapsed)
        if enough is not None and best < enough:
            break
    return best


def test_the_corpus_is_at_the_size_cap(settings):
    assert CAP == settings.ARTICLE_BODY_MAX_BYTES
    assert len(CORPUS) >= 190
    sizes = [len(body.encode()) for body in CORPUS.values()]
    assert max(sizes) <= CAP
    # Every body is within 6% of the cap (tables, footnotes and staircases end on whole units).
    assert min(sizes) >= CAP * 0.94


@pytest.fixture
def no_element_limit(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_ELEMENTS", 10**9)


def refused(body):
    try:
        render_markdown(body)
    except RenderError as error:
        return str(error)
    return None


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_hostile_body_is_rendered_or_refused_with_a_message(name):
    message = refused(CORPUS[name])
    if message is not None:
        assert f"at most {MAX_ELEMENTS:,}" in message and "split it into several articles" in message


def test_only_bodies_denser_than_the_limit_are_refused():
    # Links, emphasis, list items, fences and raw tags repeated to the cap;
    # no body made mostly of text, entities, brackets or nesting.
    names = [name for name, body in CORPUS.items() if refused(body)]
    assert "reference uses" in names and "emphasis a*" in names and "tilde fences" in names
    kept = {"brackets [", "run of <", "one long line", "thousands of footnotes", "table with many rows"}
    assert not kept & set(names)
    assert len(names) < len(CORPUS) / 4


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_hostile_body_comes_out_safe_and_shallow(name, no_element_limit):
    rendered = render_markdown(CORPUS[name])
    assert problems_in(rendered.html) == []
    assert problems_in(rendered.toc_html) == []
    # Raw HTML is held to MAX_DEPTH; Markdown nests only as deep as its
    # indentation pays for, line by line (a few hundred levels in 200 KB).
    assert nesting_depth(rendered.html) <= 1000


VOID = {"br", "hr", "img", "input"}
TAG = re.compile(r"<(/?)([a-z0-9]+)(?:[^>\"]|\"[^\"]*\")*>")


def nesting_depth(html):
    """Deepest element nesting in sanitised HTML (which is well-formed)."""
    depth = deepest = 0
    for closing, name in TAG.findall(html):
        if name in VOID:
            continue
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


def test_nesting_depth_counts_what_it_should():
    assert nesting_depth("<div><p>a<br><em>b</em></p></div><p>c</p>") == 3


def test_raw_html_nests_no_deeper_than_the_limit(no_element_limit):
    assert nesting_depth(render_markdown(CORPUS["raw div nesting"]).html) <= MAX_DEPTH


# The rows and the patterns whose cost grew fastest before.
GROWTH = [
    "brackets [",
    "image openers ![",
    "headings # a",
    "unclosed tags <a",
    "list nested by 2 spaces",
    "blockquote chain >",
    "blockquote staircase",
    "mixed chain > - 1.",
    "footnote definition chain",
    "raw div nesting",
    "raw b nesting",
    "raw divs closed in table cells",
    "unclosed raw li",
    "nested emphasis *",
    "nested links",
    "emphasis a*",
    "links [a](b)",
    "reference uses",
    "entities &amp;",
    "unfinished entities",
    "named entities in raw HTML",
    "table with many rows",
    "wide header, one-cell rows",
    "thousands of footnotes",
    "one footnote cited everywhere",
    "colliding heading ids",
    "python fences",
    "one big block of brackets",
]
SMALL = corpus(10 * 1024)


@pytest.mark.parametrize("name", GROWTH)
def test_rendering_time_grows_linearly(name, no_element_limit):
    small = cpu_time(lambda: render_markdown(SMALL[name]), runs=5)
    large = cpu_time(lambda: render_markdown(CORPUS[name]), runs=3)
    # 20 times the input: linear is 20x (less, with fixed costs), quadratic 400x.
    # The margin allows for caches that 200 KB no longer fits.
    ratio = large / max(small, 0.0005)
    assert ratio < 100, f"{name}: {small * 1000:.1f} ms -> {large * 1000:.1f} ms ({ratio:.0f}x)"


def test_a_megabyte_long_line_renders_in_linear_time(no_element_limit):
    # Over the cap (which the model enforces), straight into the renderer.
    line = fill("word *a* [b](c) ", 1024 * 1024)
    capped = line[:CAP]
    ratio = cpu_time(lambda: render_markdown(line)) / cpu_time(lambda: render_markdown(capped))
    assert ratio < 10, ratio


def test_lone_surrogates_and_nul_bytes_do_not_break_rendering():
    rendered = render_markdown("a\ud800b\x00c **d**")
    assert "<strong>d</strong>" in rendered.html


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CORPUS))
def test_the_preview_endpoint_answers_each_hostile_body(editor_client, name):
    response = editor_client.post(reverse("admin:articles_article_preview"), {"body": CORPUS[name]})
    if refused(CORPUS[name]):
        assert response.status_code == 400
        assert response.json()["error"]
    else:
        assert response.status_code == 200
        assert "html" in response.json()
