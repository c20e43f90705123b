"""Markdown in, safe HTML out: the only place article bodies are rendered.

Order matters: Markdown is rendered first and the sanitiser runs last, over
everything, so nothing an extension or an author produces reaches a reader
without passing the allow-list below.
"""

import math
import re
from dataclasses import dataclass
from html import unescape
from xml.etree.ElementTree import Element

import markdown
import nh3
from django.utils.html import strip_tags
from markdown.extensions import Extension
from markdown.extensions.toc import slugify as toc_slugify
from markdown.treeprocessors import Treeprocessor
from pygments.token import STANDARD_TYPES

WORDS_PER_MINUTE = 230

# Ids we generate ourselves carry these prefixes; any other id (for example
# one an author writes in raw HTML to clobber `document.forms`) is dropped.
HEADING_ID_PREFIX = "h-"
_OWN_ID = re.compile(r"^(h|fn|fnref)-[A-Za-z0-9_-]{1,120}$")
_ID_TAGS = {"h2", "h3", "h4", "h5", "h6", "li", "sup"}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "var",
}  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    **{tag: {"id"} for tag in _ID_TAGS},
}

# Classes are limited to what our own pipeline emits (Pygments token classes,
# footnotes, permalinks), so authors cannot borrow the site's own styles.
ALLOWED_CLASSES = {
    "span": {cls for cls in STANDARD_TYPES.values() if cls},
    "div": {"highlight", "footnote", "toc"},
    "a": {"headerlink", "footnote-ref", "footnote-backref"},
}


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "id":
        return value if element in _ID_TAGS and _OWN_ID.match(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style", "template", "iframe", "object", "noscript", "svg", "math"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto"},
    allowed_classes=ALLOWED_CLASSES,
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def sanitise(html: str) -> str:
    return _cleaner.clean(html)


class _DemoteH1(Treeprocessor):
    """The page title is the only h1; a `#` heading in a body becomes an h2."""

    def run(self, root: Element) -> None:
        for element in root.iter("h1"):
            element.tag = "h2"


class _DemoteH1Extension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Before the toc treeprocessor (priority 5) so the toc sees h2s.
        md.treeprocessors.register(_DemoteH1(md), "demote_h1", 30)


def _heading_slug(value: str, separator: str) -> str:
    return HEADING_ID_PREFIX + (toc_slugify(value, separator) or "section")


def _markdown() -> markdown.Markdown:
    # attr_list stays off: it would let authors set ids, classes and handlers.
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "codehilite",
            "tables",
            "footnotes",
            "sane_lists",
            "toc",
            _DemoteH1Extension(),
        ],
        extension_configs={
            "codehilite": {"css_class": "highlight", "guess_lang": False},
            "tables": {"use_align_attribute": True},
            "footnotes": {"SEPARATOR": "-"},
            "toc": {
                "slugify": _heading_slug,
                "toc_depth": "2-3",
                "permalink": "#",
                "permalink_title": "Link to this section",
            },
        },
        output_format="html",
    )


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str
    text: str
    word_count: int
    reading_time: int


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def reading_time_for(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def render_markdown(source: str) -> Rendered:
    md = _markdown()
    html = sanitise(md.convert(source))
    # The toc lists only headings, but it is built from author text too.
    toc_html = sanitise(md.toc) if md.toc_tokens else ""
    words = count_words(source)
    return Rendered(
        html=html,
        toc_html=toc_html,
        text=plain_text(html),
        word_count=words,
        reading_time=reading_time_for(words),
    )


def plain_text(html: str) -> str:
    """Readable text of sanitised HTML: for search snippets and the search index."""
    without_permalinks = re.sub(r'<a class="headerlink"[^>]*>.*?</a>', "", html)
    text = unescape(strip_tags(without_permalinks))
    # U+E000/U+E001 delimit search highlights; they must never come from authors.
    return " ".join(text.replace("\ue000", "").replace("\ue001", "").split())
