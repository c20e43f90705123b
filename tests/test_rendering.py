import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError

from articles.rendering import render_markdown

pytestmark = pytest.mark.django_db

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[click](javascript:alert(1))",
    "![img](data:image/svg+xml,<svg onload=alert(1)>)",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name="p"><button>go</button></form>',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<div onclick="alert(1)" onmouseover="alert(1)">hover</div>',
    '<h2 id="forms">clobber</h2><img name="getElementById">',
    '<a id="location" href="#">clobber</a>',
    "<base href='https://evil.example/'>",
    "<meta http-equiv='refresh' content='0;url=https://evil.example'>",
    "<link rel=stylesheet href='https://evil.example/x.css'>",
    "<!-- <script>alert(1)</script> -->",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<template><script>alert(1)</script></template>",
    '<div class="banner banner-warning">fake site banner</div>',
    "```{#forms .python}\nprint(1)\n```",
    "## Heading {: #location onclick=alert(1) }",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<h1>A second title</h1>",
]

FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "form", "button", "svg", "math",
    "style", "base", "meta", "link", "template", "noscript", "h1",
}  # fmt: skip
TASK_LIST_CHECKBOX = {("type", "checkbox"), ("disabled", ""), ("checked", ""), ("aria-label", "Task")}
SAFE_URL = re.compile(r"^(https?://|mailto:|#|/|[\w.-]+(/|$)|$)", re.IGNORECASE)  # empty: this page


class Inspector(HTMLParser):
    """Collects every tag and attribute the browser would see."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        # Task-list checkboxes are the one input there is: disabled, nothing more.
        if tag == "input" and not (
            ("type", "checkbox") in attrs and ("disabled", "") in attrs and set(attrs) <= TASK_LIST_CHECKBOX
        ):
            self.problems.append(f"<input {attrs}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in {"style", "srcdoc", "formaction", "xlink:href"}:
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src"} and not SAFE_URL.match(value.strip()):
                self.problems.append(f"{tag}[{name}={value!r}]")
            if name == "id" and not re.match(r"^(h|fn|fnref)-", value):
                self.problems.append(f"{tag}[id={value!r}]")
            if name == "class" and any(c in value.split() for c in ("banner", "banner-warning", "card")):
                self.problems.append(f"{tag}[class={value!r}]")
            if name == "name":
                self.problems.append(f"{tag}[name]")


def problems_in(html):
    inspector = Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.problems


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_is_neutralised(source):
    html = render_markdown(source).html
    assert problems_in(html) == [], html


def test_all_hostile_inputs_together_are_neutralised_in_toc_too():
    source = "\n\n".join(f"## {item}\n\n{item}" for item in HOSTILE)
    rendered = render_markdown(source)
    assert problems_in(rendered.html) == []
    assert problems_in(rendered.toc_html) == []


def test_the_inspector_itself_catches_unsafe_html():
    assert problems_in('<script></script><a href="javascript:x" onclick="y" id="forms"><input type="text">') == [
        "<script>", "a[href='javascript:x']", "a[onclick]", "a[id='forms']", "<input [('type', 'text')]>",
    ]  # fmt: skip


def test_fenced_code_is_highlighted_with_css_classes():
    html = render_markdown("```python\ndef f():\n    return 1\n```").html
    assert '<div class="highlight">' in html
    assert '<span class="k">def</span>' in html


def test_a_code_block_seen_before_is_highlighted_from_the_cache_with_the_same_html():
    from articles import rendering

    body = "```python\nanswer = 42  # cached-block-test\n```"
    rendering._highlighted.cache_clear()
    first = render_markdown(body).html
    assert rendering._highlighted.cache_info().misses == 1
    again = render_markdown(f"Intro.\n\n{body}").html
    assert rendering._highlighted.cache_info().hits == 1
    assert first in again and '<span class="mi">42</span>' in first


def test_a_large_code_block_is_not_kept_in_the_cache():
    from articles import rendering

    rendering._highlighted.cache_clear()
    code = "x = 1\n" * (rendering.HIGHLIGHT_CACHED_CHARS // 6 + 1)
    html = render_markdown(f"```python\n{code}```").html
    assert '<span class="n">x</span>' in html
    assert rendering._highlighted.cache_info().currsize == 0


def test_code_is_escaped_not_executed():
    html = render_markdown("```html\n<script>alert(1)</script>\n```").html
    assert "<script" not in html
    assert "&lt;" in html


def test_headings_get_prefixed_ids_and_a_table_of_contents():
    rendered = render_markdown("## Getting started\n\ntext\n\n### Install it\n\nmore")
    assert '<h2 id="h-getting-started">' in rendered.html
    assert '<h3 id="h-install-it">' in rendered.html
    assert 'href="#h-getting-started"' in rendered.toc_html
    assert 'href="#h-install-it"' in rendered.toc_html


def test_a_level_one_heading_in_a_body_becomes_h2():
    html = render_markdown("# Not the title").html
    assert "<h1" not in html
    assert "<h2" in html


def test_tables_and_footnotes_render():
    html = render_markdown("| a | b |\n|---|--:|\n| 1 | 2 |\n\nA claim.[^1]\n\n[^1]: The source.").html
    assert "<table>" in html
    assert '<td align="right">2</td>' in html
    assert '<li id="h-fn-1">' in html
    assert 'href="#h-fn-1"' in html


def test_external_links_get_noopener_noreferrer_nofollow():
    # In-page links (permalinks, the table of contents, footnotes) get none: see test_markdown_gfm.py.
    html = render_markdown("[docs](https://docs.djangoproject.com/)").html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'href="https://docs.djangoproject.com/"' in html


def test_harmless_raw_html_is_kept():
    html = render_markdown("Press <kbd>Ctrl</kbd>+<kbd>C</kbd>.").html
    assert "<kbd>Ctrl</kbd>" in html


def test_reading_time_is_at_least_a_minute_and_grows_with_length():
    assert render_markdown("short").reading_time == 1
    assert render_markdown("word " * 2300).reading_time == 10


def test_body_over_the_size_limit_is_refused_with_a_clear_message(article_factory, settings):
    article = article_factory.build(body="x" * (settings.ARTICLE_BODY_MAX_BYTES + 1))
    with pytest.raises(ValidationError) as excinfo:
        article.full_clean()
    assert "the limit is" in str(excinfo.value)


def test_body_html_is_rendered_at_save(article_factory):
    article = article_factory(body="## Hello\n\n**bold**")
    assert "<strong>bold</strong>" in article.body_html
    assert "h-hello" in article.toc_html


def test_titles_and_summaries_are_escaped_on_pages(client, article_factory):
    article = article_factory(title="<script>alert('t')</script>", summary="<img src=x onerror=alert(1)>")
    for url in [article.get_absolute_url(), article.category.get_absolute_url()]:
        html = client.get(url).content.decode()
        assert "<script>alert('t')</script>" not in html
        assert "<img src=x onerror" not in html
        assert "&lt;script&gt;" in html
