"""The shortcuts that keep rendering fast give the same result as the long way (issue 12).

Each pass of `articles.rendering` has a fast path for what cmark-gfm writes and
a general one for what authors write by hand; these tests reach the general
ones and the places where the two meet.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from articles import rendering
from articles.rendering import LINK_REL, MAX_DEPTH, render_markdown
from tests.hostile_corpus import fill
from tests.test_markdown_hostile import nesting_depth
from tests.test_rendering import problems_in


def html_of(source):
    return render_markdown(source).html


def test_links_written_by_hand_in_any_case_or_spacing_get_the_rel():
    html = html_of(
        '<A HREF="https://a.example/">a</A> <a\ntitle="t" href="https://b.example/">b</a> '
        '<a title="c" href="https://c.example/">c</a> <a href="#h-x">in</a> [d](https://d.example/)'
    )
    assert html.count(f'rel="{LINK_REL}"') == 4
    assert '<a href="#h-x">in</a>' in html


def test_a_link_that_already_has_the_rel_gets_it_once():
    html = html_of(f'<a rel="{LINK_REL}" href="https://a.example/">a</a>')
    assert html.count("rel=") == 1


def test_hand_written_pre_and_code_with_markup_inside_are_left_alone_beside_fenced_code():
    # `</code></pre>` counts differ from the fenced openings: the general path runs.
    html = html_of("<pre><code><b>bold</b> code</code></pre>\n\n```\nplain\n```\n\n    indented\n")
    assert html.count('<div class="highlight">') == 2
    assert "<pre><code><b>bold</b> code</code></pre>" in html


def test_thousands_of_plain_code_blocks_are_wrapped_like_highlighted_ones():
    html = html_of(fill("```\nx\n```\n\n", 60_000))
    blocks = html.count("<pre>")
    assert blocks > 4000
    assert html.count('<div class="highlight"><pre><span></span><code>') == blocks
    assert html.count("</code></pre></div>") == blocks


def test_footnotes_work_and_brackets_without_a_caret_stay_text():
    rendered = html_of("Claim.[^a]\n\n[^a]: Source.\n\n[b] [c]")
    assert 'href="#h-fn-a"' in rendered
    assert "[b] [c]" in rendered


@pytest.mark.parametrize(
    "unit",
    [
        # A quoted `>` and `</b>` inside an attribute: looks like an element
        # holding only text, but the tag never closes.
        "<b a='>t</b>'>",
        # A tag inside a comment whose quoted attribute runs past the comment's end.
        '<!-- <b title="--><div>">',
        "<div title='</div>'>",
    ],
)
def test_nesting_hidden_behind_quotes_and_comments_is_still_limited(unit):
    html = html_of("text\n\n" + unit * 3000)
    assert nesting_depth(html) <= MAX_DEPTH + 2
    assert problems_in(html) == []


def test_well_formed_markup_among_much_markdown_skips_the_retokeniser(monkeypatch):
    def fail(html):
        raise AssertionError("_normalise ran")

    monkeypatch.setattr(rendering, "_normalise", fail)
    body = fill("*a* ", 60_000) + "<b>x</b> <kbd>y</kbd> " * 70 + "\n\n<table><tr><td>1</td></tr></table>\n"
    assert html_of(body).count("<em>") > 10_000


def test_markup_that_nests_deeply_goes_through_the_retokeniser(monkeypatch):
    calls = []
    normalise = rendering._normalise
    monkeypatch.setattr(rendering, "_normalise", lambda html: calls.append(1) or normalise(html))
    html = html_of("<div>" * 200 + "deep")
    assert calls == [1]
    assert nesting_depth(html) <= MAX_DEPTH


def test_renders_running_in_threads_at_once_give_the_same_html():
    # cmark-gfm's arena is one per process; renders take turns with it.
    bodies = [fill(unit, 30_000) for unit in ("*a* ", "[a](b) ", "- [x] a\n", "| a | b |\n|---|---|\n| 1 | 2 |\n\n")]
    expected = [html_of(body) for body in bodies]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(html_of, bodies * 5))
    assert results == expected * 5


def test_a_body_at_the_element_limit_renders_and_one_more_element_is_refused(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_ELEMENTS", 2_000)
    # One paragraph and 1,999 links: 2,000 elements.
    assert html_of("[a](b) " * 1_999).count("<a ") == 1_999
    with pytest.raises(rendering.RenderError, match="2,001 HTML elements.*at most 2,000"):
        render_markdown("[a](b) " * 2_000)


def test_a_refused_body_costs_no_sanitising(monkeypatch):
    def fail(html):
        raise AssertionError("sanitised")

    monkeypatch.setattr(rendering, "sanitise", fail)
    with pytest.raises(rendering.RenderError):
        render_markdown(fill("[a](b) ", 200 * 1024))


def test_comments_and_end_tags_do_not_count_as_elements(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_ELEMENTS", 100)
    assert "<b>x</b>" in html_of("<!-- a -->" * 500 + "</i>" * 500 + "\n\n<b>x</b>")


def test_a_body_refused_once_is_refused_again_without_parsing(monkeypatch):
    body = fill("[a](b) ", 200 * 1024)
    with pytest.raises(rendering.RenderError) as first:
        render_markdown(body)

    def fail(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(rendering, "_cmark_html", fail)
    with pytest.raises(rendering.RenderError) as second:
        render_markdown(body)
    assert str(second.value) == str(first.value)
    # With another limit the answer may differ, so it is worked out again.
    monkeypatch.setattr(rendering, "MAX_ELEMENTS", 10**9)
    with pytest.raises(AssertionError, match="parsed again"):
        render_markdown(body)
