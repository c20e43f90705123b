"""Markdown in, safe HTML out: the only place article bodies are rendered.

The parser is cmark-gfm, GitHub's own (through the `cmarkgfm` package's
library): CommonMark plus GFM tables, strikethrough, autolinks, task lists and
footnotes, in time linear in the input. Everything after it is a fixed number
of passes over its output, each linear too, and the sanitiser runs last, over
everything, so nothing the parser, a pass or an author produces reaches a
reader without passing the allow-list below.

1. Container markers chained on one line (`> > > …`, `- - 1. …`) are cut at
   `MAX_CHAIN`; deeper ones stay as text.
2. cmark-gfm renders the body (raw HTML kept for the sanitiser to judge).
3. If the body could hold more than `RAW_TAG_BUDGET` raw tags, the output is
   re-tokenised (`_normalise`) so that no element nests deeper than `MAX_DEPTH`:
   the HTML5 parser inside nh3 is quadratic in nesting depth.
4. Fenced code is highlighted by Pygments (CSS classes), within a budget.
5. Headings get ids (`h-…`), a permalink beside them, and the table of
   contents; a body's `#` heading becomes an h2, the page title being the h1.
6. Footnote ids are mapped to `fn-…`/`fnref-…` ids of safe characters.
7. Links leaving the page get `rel="noopener noreferrer nofollow"`.
8. nh3 (ammonia) with an explicit allow-list. Ids survive only if this render
   generated them.
"""

import hashlib
import html as html_lib
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from itertools import islice

import cffi
import cmarkgfm._cmark
import nh3
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

WORDS_PER_MINUTE = 230


class RenderError(ValueError):
    """A body that cannot be rendered; the message is meant for the author."""


# ---------------------------------------------------------------- limits

# Container markers (`>`, list markers, footnote labels) chained on one line
# each open a level of nesting for two bytes; past this many the rest of the
# line is text. Nesting across lines costs a prefix on every line, so it
# cannot grow faster than the body does.
MAX_CHAIN = 32
# A table (columns of its delimiter row times the lines down to the next
# blank line) over this many cells is shown as text: cmark pads every short
# row to the full width, so a wide header over one-cell rows multiplies.
TABLE_CELLS = 20_000
# More footnote references than this and footnote syntax is left as text:
# every reference also writes a back-link into its note, so one note cited
# thousands of times would multiply the page.
FOOTNOTE_REFERENCES = 1_000
# Text the sanitiser's HTML parser reads as one run slows down with each named
# character reference in it (it re-appends the run); an empty comment every
# this many references splits the run and is gone after sanitising.
REFERENCES_PER_RUN = 128
# A body with at most this many `<` cannot hold more raw HTML tags than that,
# so it cannot nest raw HTML deeper; above it the output is re-tokenised.
RAW_TAG_BUDGET = 64
# The deepest element nesting `_normalise` lets through.
MAX_DEPTH = 64
# Headings past this many keep their level and text but get no id, permalink
# or table of contents entry.
MAX_HEADINGS = 500
# The most elements (start tags) cmark-gfm may make of one body. Parsing and
# sanitising cost grows with the elements, not the bytes: 51,200 links
# (`[a] ` repeated to the 200 KB cap) took 250 ms. The densest seed article
# has one element per 45 bytes, about 4,500 at the cap; this is five times
# that. A body over it is refused with a message, never cut short.
MAX_ELEMENTS = 25_000
# Pygments is the slowest stage per byte (about 1.5 µs for Python); code past
# these budgets is shown as it is, unhighlighted.
HIGHLIGHT_BLOCKS = 100
HIGHLIGHT_CHARS = 20_000

# ---------------------------------------------------------------- cmark-gfm

# cmarkgfm's own wrapper frees neither the parsed tree nor the rendered
# string (about 12 MB leaked per 200 KB body), and exposes no way to. Its
# shared library exports the whole cmark-gfm API, so we declare the calls we
# need and free what they allocate (all at once, through the arena below).
_ffi = cffi.FFI()
_ffi.cdef(
    """
    typedef struct cmark_node cmark_node;
    typedef struct cmark_parser cmark_parser;
    typedef struct cmark_syntax_extension cmark_syntax_extension;
    typedef struct cmark_llist cmark_llist;
    typedef struct cmark_mem {
        void *(*calloc)(size_t, size_t);
        void *(*realloc)(void *, size_t);
        void (*free)(void *);
    } cmark_mem;
    void cmark_gfm_core_extensions_ensure_registered(void);
    cmark_syntax_extension *cmark_find_syntax_extension(const char *name);
    int cmark_parser_attach_syntax_extension(cmark_parser *parser, cmark_syntax_extension *extension);
    void cmark_parser_feed(cmark_parser *parser, const char *buffer, size_t len);
    cmark_node *cmark_parser_finish(cmark_parser *parser);
    cmark_llist *cmark_parser_get_syntax_extensions(cmark_parser *parser);
    const char *cmark_version_string(void);
    cmark_mem *cmark_get_arena_mem_allocator(void);
    void cmark_arena_reset(void);
    cmark_parser *cmark_parser_new_with_mem(int options, cmark_mem *mem);
    char *cmark_render_html_with_mem(cmark_node *root, int options, cmark_llist *extensions, cmark_mem *mem);
    """
)
_lib = _ffi.dlopen(cmarkgfm._cmark.__file__)
_cm = cmarkgfm._cmark.lib
# Raw HTML is kept (UNSAFE) because nh3 judges it; footnotes on; code fences
# say their language as <pre lang="…">.
_OPTIONS = _cm.CMARK_OPT_UNSAFE | _cm.CMARK_OPT_FOOTNOTES | _cm.CMARK_OPT_GITHUB_PRE_LANG
_EXTENSIONS = (b"table", b"strikethrough", b"autolink", b"tasklist")
_setup_lock = threading.Lock()
_extensions = []


def cmark_version() -> str:
    return _ffi.string(_lib.cmark_version_string()).decode()


def _extension_handles():
    if not _extensions:
        with _setup_lock:
            if not _extensions:
                _lib.cmark_gfm_core_extensions_ensure_registered()
                found = [_lib.cmark_find_syntax_extension(name) for name in _EXTENSIONS]
                if any(handle == _ffi.NULL for handle in found):
                    raise RenderError("The Markdown renderer is missing an extension; nothing was saved.")
                _extensions.extend(found)
    return _extensions


# cmark-gfm's arena allocator hands out memory by moving a pointer and frees
# it all at once: on a 200 KB body of `a*` (51,200 emphasis nodes) malloc and
# free were half of cmark's time. The arena is one per process (a C global),
# so one render at a time uses it.
_arena_lock = threading.Lock()


def _cmark_html(source: str, *, footnotes: bool = True) -> str:
    data = source.encode("utf-8", "surrogatepass")
    options = _OPTIONS if footnotes else _OPTIONS & ~_cm.CMARK_OPT_FOOTNOTES
    extensions = _extension_handles()
    with _arena_lock:
        arena = _lib.cmark_get_arena_mem_allocator()
        try:
            parser = _lib.cmark_parser_new_with_mem(options, arena)
            if parser == _ffi.NULL:
                raise RenderError("The Markdown renderer could not start; please try again.")
            for extension in extensions:
                _lib.cmark_parser_attach_syntax_extension(parser, extension)
            _lib.cmark_parser_feed(parser, data, len(data))
            root = _lib.cmark_parser_finish(parser)
            if root == _ffi.NULL:
                raise RenderError("The Markdown renderer could not read this body.")
            rendered = _lib.cmark_render_html_with_mem(
                root, options, _lib.cmark_parser_get_syntax_extensions(parser), arena
            )
            if rendered == _ffi.NULL:
                raise RenderError("The Markdown renderer could not render this body.")
            return _ffi.string(rendered).decode("utf-8", "replace")
        finally:
            # Parser, tree and output all live in the arena: one reset frees them.
            _lib.cmark_arena_reset()


# The last few bodies refused for their size, and why: the admin asks again
# for the same text (to word its form error), and the answer cannot change.
_refused: dict[str, tuple[int, str]] = {}
_REFUSED_KEPT = 8


def _check_elements(source: str, html: str) -> None:
    # cmark-gfm escapes every `<` of text, so each `<` it writes opens a tag,
    # closes one (`</`) or starts a comment or declaration (`<!`, `<?`).
    elements = html.count("<") - html.count("</") - html.count("<!") - html.count("<?")
    if elements > MAX_ELEMENTS:
        message = (
            f"This text would make a page of {elements:,} HTML elements (links, emphasis, list items, code "
            f"blocks, tags); a page can have at most {MAX_ELEMENTS:,}. Nothing was saved and your text is kept: "
            "split it into several articles, or use less markup."
        )
        while len(_refused) >= _REFUSED_KEPT:
            _refused.pop(next(iter(_refused)), None)
        _refused[source] = (MAX_ELEMENTS, message)
        raise RenderError(message)


# ---------------------------------------------------------------- 1. chains

_CHAIN_MARKER = r"[ \t]*+(?:>|[-+*](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)|\[\^[^\]\s]{1,100}\]:(?=[ \t]|$))"
_LONG_CHAIN = re.compile(rf"^(?:{_CHAIN_MARKER}){{{MAX_CHAIN + 1}}}", re.MULTILINE)
_NEXT_MARKER = re.compile(r"[ \t]*+(?:(>)|([-+*])|(\d{1,9})([.)])|(\[))")
# `- - -` or `* * * *` alone on a line is a thematic break, not a chain.
_THEMATIC_BREAK = re.compile(r"[ \t]*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")


def _limit_chains(source: str) -> str:
    if not _LONG_CHAIN.search(source):
        return source

    def cut(match: re.Match) -> str:
        line_end = source.find("\n", match.start())
        line = source[match.start() : len(source) if line_end < 0 else line_end]
        if _THEMATIC_BREAK.match(line):
            return match.group(0)
        kept = re.match(rf"(?:{_CHAIN_MARKER}){{{MAX_CHAIN}}}", match.group(0)).group(0)
        rest = match.group(0)[len(kept) :]
        marker = _NEXT_MARKER.match(rest)
        # A backslash makes the next marker literal text, which ends the chain.
        if marker.group(3) is not None:
            at = marker.start(4)
        else:
            at = marker.end() - 1
        return kept + rest[:at] + "\\" + rest[at:]

    return _LONG_CHAIN.sub(cut, source)


_DELIMITER_ROW = re.compile(
    r"^[ \t]*+\|?+[ \t]*+:?+-++:?+[ \t]*+(?:\|[ \t]*+:?+-++:?+[ \t]*+)*+\|?+[ \t]*+$", re.MULTILINE
)


def _limit_tables(source: str) -> str:
    if "|" not in source or "-" not in source:
        return source
    cuts = []
    table_end = -1
    cutting = False
    for row in _DELIMITER_ROW.finditer(source):
        if "|" not in row.group(0):
            continue  # a setext underline or a thematic break
        if row.start() < table_end:
            if cutting:
                # Inside a table that is too big: any delimiter row here would
                # start another table over the same rows, so it goes too.
                cuts.append(row.start() + row.group(0).index("-"))
            continue
        table_end = source.find("\n\n", row.end())
        if table_end < 0:
            table_end = len(source)
        cells = (row.group(0).count("|") + 1) * (source.count("\n", row.end(), table_end) + 1)
        cutting = cells > TABLE_CELLS
        if cutting:
            cuts.append(row.start() + row.group(0).index("-"))
    if not cuts:
        return source
    # A backslash before its first dash means the delimiter row is text, and
    # so is the would-be table.
    pieces, position = [], 0
    for at in cuts:
        pieces += [source[position:at], "\\"]
        position = at
    pieces.append(source[position:])
    return "".join(pieces)


# ---------------------------------------------------------------- 3. nesting

_VOID = frozenset("area base br col embed hr img input keygen link meta param source track wbr".split())
# Dropped with everything up to their end tag: their content is never shown
# (scripts, styles, embedded documents) or is parsed by other rules.
_SKIP_CONTENT = frozenset(
    "script style template iframe object noscript svg math textarea title xmp noembed noframes select".split()
)
# The attribute grammar of the HTML tokenizer: a name runs to whitespace, `/`,
# `>` or `=`; a value is double-quoted, single-quoted, or runs to whitespace
# or `>`. Possessive quantifiers keep every match linear.
_ATTRIBUTE = (
    r"[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >\"'][^\t\n\f\r >]*+)?)?+"
)
_TAG = re.compile(rf"<(/?)([A-Za-z][^\t\n\f\r />]*+)((?:[\t\n\f\r /]++|{_ATTRIBUTE})*+)>")
_ATTRIBUTES = re.compile(
    r"([^\t\n\f\r />][^\t\n\f\r />=]*+)"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"([^\"]*+)\"|'([^']*+)'|([^\t\n\f\r >\"'][^\t\n\f\r >]*+))?)?+"
)
_COMMENT_END = re.compile(r"--!?>")


def _canonical_tag(name: str, attributes: str, closing: bool) -> str:
    if closing:
        return f"</{name}>"
    parts = [f"<{name}"]
    seen = set()
    for match in _ATTRIBUTES.finditer(attributes):
        key = match.group(1).lower()
        if key in seen or not re.fullmatch(r"[a-z][a-z0-9-]*", key):
            continue
        seen.add(key)
        value = next((v for v in match.group(2, 3, 4) if v is not None), None)
        if value is None and "=" not in match.group(0):
            parts.append(f" {key}")
        else:
            parts.append(f' {key}="{(value or "").replace(chr(34), "&quot;")}"')
    if attributes.rstrip().endswith("/"):
        parts.append(" /")
    parts.append(">")
    return "".join(parts)


_SKIP_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in _SKIP_CONTENT}
# Start tags that end an open element of the same kind (or a <p>) in the HTML
# parser; closing it explicitly keeps our count of open elements honest for
# HTML written without end tags.
_CLOSES_OPEN = {
    "li": {"li"},
    "dd": {"dd", "dt"},
    "dt": {"dd", "dt"},
    "tr": {"td", "th", "tr"},
    "td": {"td", "th"},
    "th": {"td", "th"},
    **{h: {"h1", "h2", "h3", "h4", "h5", "h6"} for h in ("h1", "h2", "h3", "h4", "h5", "h6")},
}
_CLOSES_P = frozenset(
    """address article aside blockquote details dialog div dl fieldset figcaption figure footer header
    h1 h2 h3 h4 h5 h6 hgroup hr main menu nav ol p pre section summary table ul li dd dt""".split()
)


# A `<` and, when it starts a tag, the tag: `finditer` finds every `<` at C
# speed and hands over the tag's parts, so there is one match per `<`.
_TOKEN = re.compile(rf"<(?:(/?)([A-Za-z][^\t\n\f\r />]*+)((?:[\t\n\f\r /]++|{_ATTRIBUTE})*+)>)?")


def _normalise(html: str) -> str:
    """Re-tokenise `html` so that no element nests deeper than MAX_DEPTH.

    Everything that comes out is either a tag in canonical form (double-quoted
    attributes) or text with every `<` escaped, so the sanitiser's HTML parser
    reads exactly the structure built here. Comments and the content of
    script-like elements are dropped; an end tag closes only the innermost open
    element and is dropped otherwise; start tags beyond MAX_DEPTH are dropped
    (their text stays).
    """
    out = []
    append = out.append
    stack = []
    push, pop = stack.append, stack.pop
    canonical = {}
    find, startswith = html.find, html.startswith
    closes_open, closes_p, void, skip = _CLOSES_OPEN, _CLOSES_P, _VOID, _SKIP_CONTENT
    position = 0
    length = len(html)
    scan_from = 0
    while scan_from is not None:
        restart, scan_from = scan_from, None
        for token in _TOKEN.finditer(html, restart):
            at = token.start()
            if at < position:
                # Inside a comment or skipped content. A match that runs past
                # their end could hide a real tag: scan again from the end.
                if token.end() > position:
                    scan_from = position
                    break
                continue
            closing, name, attributes = token.groups()
            if at > position:
                append(html[position:at])
            if name is None:
                if startswith("<!--", at):
                    if startswith(">", at + 4):
                        position = at + 5
                    elif startswith("->", at + 4):
                        position = at + 6
                    else:
                        end = _COMMENT_END.search(html, at + 4)
                        position = length if end is None else end.end()
                elif at + 1 < length and html[at + 1] in "!?/":
                    # A bogus comment, up to the next `>`.
                    end = find(">", at + 1)
                    position = length if end < 0 else end + 1
                elif at + 1 < length and html[at + 1].isascii() and html[at + 1].isalpha():
                    # A tag that never ends: the HTML parser would swallow the
                    # rest of the document into it.
                    append(html[at:].replace("<", "&lt;"))
                    position = length
                    break
                else:
                    append("&lt;")
                    position = at + 1
                continue
            position = token.end()
            name = name.lower()
            if closing:
                if stack and stack[-1] == name and name not in skip:
                    pop()
                    append(f"</{name}>")
                continue
            if name in skip or name == "plaintext":
                end = None if name == "plaintext" else _SKIP_END[name].search(html, position)
                if end is None:
                    position = length
                    break
                close = find(">", end.end() - 1)
                position = length if close < 0 else close + 1
                continue
            if stack:
                top = stack[-1]
                if (top == "p" and name in closes_p) or top in closes_open.get(name, ()):
                    pop()
                    append(f"</{top}>")
            if name not in void:
                if len(stack) >= MAX_DEPTH:
                    continue
                push(name)
            text = token.group()
            rewritten = canonical.get(text)
            if rewritten is None:
                rewritten = canonical[text] = f"<{name}>" if not attributes else _canonical_tag(name, attributes, False)
            append(rewritten)
    if position < length:
        append(html[position:])
    return "".join(out)


# An element holding only text (`<x …>text</x>`): it adds one level of
# nesting while open and leaves none behind, so it cannot make the
# sanitiser's parser slow. A start tag's attributes follow the tokenizer's
# grammar, so a quoted `>` or `</x>` cannot end it early.
_LEAF = re.compile(rf"<([A-Za-z][^\t\n\f\r />]*+)(?:[\t\n\f\r /]++|{_ATTRIBUTE})*+>[^<]*+</(?i:\1)>")
# Left over after the leaves are gone, a start tag can open up to five levels
# (a table cell brings its row, its row group and its table; formatting is
# reopened after a block), so this many leave the depth within MAX_DEPTH.
_FEW_START_TAGS = MAX_DEPTH // 5
_LEAF_PASSES = 8


def _may_nest_deeply(html: str) -> bool:
    """False when `html` certainly nests no deeper than MAX_DEPTH; True when it may.

    Each pass replaces the elements that hold only text by a letter (a C-speed
    regex, no Python per element), so a list's paragraphs go in one pass, its
    items in the next, the list in the one after. What nests deeply cannot
    lose more than a level per pass, so passes stop once one removes less than
    a quarter of what is left, and `_normalise` decides.
    """
    # Every start tag has a `<` that is not `</`: an upper bound, at C speed.
    remaining = html.count("<") - html.count("</")
    for _ in range(_LEAF_PASSES):
        if remaining <= _FEW_START_TAGS:
            return False
        html = _LEAF.sub("x", html)
        before, remaining = remaining, html.count("<") - html.count("</")
        if remaining > before * 3 // 4:
            break
    return remaining > _FEW_START_TAGS


# ---------------------------------------------------------------- 4. code

_CODE_BLOCK = re.compile(r'<pre(?: lang="([^"<>]*+)")?><code>([^<]*+)</code></pre>')
_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)
_PLAIN_CODE = r'<div class="highlight"><pre><span></span><code>\2</code></pre></div>'
# Languages we highlight: Pygments' lexers are regular expressions, and a few
# of its hundreds can be driven into slow backtracking; these are tested on
# hostile input (tests/test_markdown_hostile.py). Others are shown unhighlighted.
HIGHLIGHTED_LANGUAGES = frozenset(
    """
    bash sh shell zsh console shell-session python py python3 pycon json yaml yml sql postgresql psql mysql
    http javascript js typescript ts jsx tsx go golang rust rs java kotlin c cpp c++ csharp cs ruby rb php
    html xml css scss dockerfile docker nginx ini cfg toml graphql proto protobuf lua text diff patch
    makefile make terraform hcl swift scala elixir erlang haskell powershell ps1 markdown md
    """.split()
)


@lru_cache(maxsize=64)
def _lexer(language: str):
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


# Highlighting is about half of rendering a body with code, and the same blocks
# come back: each keystroke's live preview, each save of an article whose code
# did not change, a bulk load. Small blocks' HTML is kept per process: at most
# HIGHLIGHT_CACHE_SIZE entries of at most HIGHLIGHT_CACHED_CHARS of code (a few MB).
HIGHLIGHT_CACHED_CHARS = 4_000
HIGHLIGHT_CACHE_SIZE = 512


@lru_cache(maxsize=HIGHLIGHT_CACHE_SIZE)
def _highlighted(language: str, text: str) -> str:
    return highlight(text, _lexer(language), _FORMATTER)


def _highlight_code(html: str) -> str:
    if "<pre" not in html:
        return html
    budget = {"blocks": HIGHLIGHT_BLOCKS, "chars": HIGHLIGHT_CHARS}

    def block(match: re.Match) -> str:
        language = (match.group(1) or "").lower()
        code = match.group(2)
        lexer = _lexer(language) if language in HIGHLIGHTED_LANGUAGES else None
        text = unescape(code)
        if lexer is None or budget["blocks"] <= 0 or len(text) > budget["chars"]:
            return match.expand(_PLAIN_CODE)
        budget["blocks"] -= 1
        budget["chars"] -= len(text)
        if len(text) <= HIGHLIGHT_CACHED_CHARS:
            return _highlighted(language, text)
        return highlight(text, lexer, _FORMATTER)

    out, position = [], 0
    # Past the budget every block is shown plain, so only the first
    # HIGHLIGHT_BLOCKS matches with a language cost a Python call each.
    for match in islice(_CODE_BLOCK.finditer(html), HIGHLIGHT_BLOCKS * 4):
        out.append(html[position : match.start()])
        out.append(block(match))
        position = match.end()
    out.append(_plain_code_blocks(html[position:]))
    return "".join(out)


_CODE_OPENING = re.compile(r'<pre(?: lang="[^"<>]*+")?><code>(?=[^<]*+</code></pre>)')
_PLAIN_OPENING = '<div class="highlight"><pre><span></span><code>'


def _plain_code_blocks(html: str) -> str:
    """`_CODE_BLOCK.sub(_PLAIN_CODE, html)`, without a Python call per block.

    A template with a group reference costs a call into Python for every
    match (tens of thousands of empty fences). The openings are replaced by a
    literal instead; each is followed by its own `</code></pre>` with no `<`
    between, so when every `</code></pre>` was claimed so, all of them close
    a replaced block and a plain replace finishes the job.
    """
    if "</code></pre>" not in html:
        return html
    replaced, count = _CODE_OPENING.subn(_PLAIN_OPENING, html)
    if count == html.count("</code></pre>"):
        return replaced.replace("</code></pre>", "</code></pre></div>")
    return _CODE_BLOCK.sub(_PLAIN_CODE, html)


# ---------------------------------------------------------------- 5. headings

# Every id in a body starts with this: the pipeline's own (headings `h-…`,
# footnotes `h-fn-…` and `h-fnref-…`) are written with it, and the sanitiser
# prefixes any other, so no author id can clobber `document.forms` and the like.
ID_PREFIX = HEADING_ID_PREFIX = "h-"
_HEADING = re.compile(r"<h([1-6])>([^<]*+(?:<(?!/?h[1-6][\t\n\f\r />])[^<]*+)*+)</h\1>")
# A tag, `>` allowed inside double quotes; runs of ordinary characters are
# matched as runs (not one alternation per character), which is several
# times faster on megabytes of markup.
_ANY_TAG = re.compile(r'<[^>"]*+(?:"[^"]*+"[^>"]*+)*+>')
MAX_ID_LENGTH = 100


def _slugify(value: str) -> str:
    """Python-Markdown's toc slugify, so the ids (and links to them) did not change."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)[:MAX_ID_LENGTH].strip("-")


def text_of(fragment: str) -> str:
    """The text of an HTML fragment, tags removed and entities decoded."""
    return " ".join(unescape(_ANY_TAG.sub("", fragment)).split())


class _Ids:
    """Unique ids, as Python-Markdown numbered them (`x`, `x_1`, `x_2`), in linear time."""

    def __init__(self):
        self.used = set()
        self.next_suffix = {}

    def claim(self, wanted: str) -> str:
        candidate = wanted
        if candidate in self.used:
            suffix = self.next_suffix.get(wanted, 1)
            while f"{wanted}_{suffix}" in self.used:
                suffix += 1
            candidate = f"{wanted}_{suffix}"
            self.next_suffix[wanted] = suffix + 1
        self.used.add(candidate)
        return candidate


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


def _headings(html: str) -> tuple[str, list[Heading]]:
    ids = _Ids()
    headings = []
    out, position = [], 0
    for match in islice(_HEADING.finditer(html), MAX_HEADINGS):
        level = max(2, int(match.group(1)))
        inner = match.group(2)
        text = text_of(inner)
        anchor = ids.claim(HEADING_ID_PREFIX + (_slugify(text) or "section"))
        headings.append(Heading(level, anchor, text))
        label = html_lib.escape(f"Link to this section: {text}")
        out.append(html[position : match.start()])
        # The permalink sits beside the heading, not inside it, so the
        # heading's accessible name is its text alone.
        out.append(
            f'<div class="heading"><h{level} id="{anchor}">{inner}</h{level}>'
            f'<a href="#{anchor}" class="headerlink" aria-label="{label}">#</a></div>'
        )
        position = match.end()
    out.append(html[position:])
    return "".join(out).replace("<h1>", "<h2>").replace("</h1>", "</h2>"), headings


def _toc(headings: list[Heading]) -> str:
    """Nested list of the h2 and h3 headings, shaped as Python-Markdown's toc was."""
    entries = [h for h in headings if h.level <= 3]
    if not entries:
        return ""
    out = ['<div class="toc">\n<ul>\n']
    open_h3 = False
    for index, heading in enumerate(entries):
        link = f'<a href="#{heading.id}">{html_lib.escape(heading.text)}</a>'
        following = entries[index + 1].level if index + 1 < len(entries) else None
        if heading.level == 3:
            if not open_h3 and index > 0 and entries[index - 1].level == 2:
                out.append("<ul>\n")
                open_h3 = True
            out.append(f"<li>{link}</li>\n")
            if following != 3 and open_h3:
                out.append("</ul>\n</li>\n")
                open_h3 = False
        else:
            out.append(f"<li>{link}" + ("\n" if following == 3 else "</li>\n"))
    out.append("</ul>\n</div>\n")
    return "".join(out)


# ---------------------------------------------------------------- 6. footnotes

_FOOTNOTE_ATTRIBUTE = re.compile(r'(id="|href="#)(fn|fnref)-([^"]*+)"')
_SAFE_LABEL = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _footnote_id(prefix: str, label: str) -> str:
    if not _SAFE_LABEL.fullmatch(label):
        # Labels with other characters (cmark percent-encodes them) get a
        # stable, safe id: an id and the links to it carry the same label.
        label = "x" + hashlib.sha256(label.encode()).hexdigest()[:16]
    return f"{ID_PREFIX}{prefix}-{label}"


def _footnotes(html: str) -> str:
    if "fn-" not in html:
        return html
    html = _FOOTNOTE_ATTRIBUTE.sub(lambda m: f'{m.group(1)}{_footnote_id(m.group(2), m.group(3))}"', html)
    html = html.replace('<section class="footnotes" data-footnotes>', '<div class="footnote">\n<hr>')
    return html.replace("</ol>\n</section>", "</ol>\n</div>")


# ---------------------------------------------------------------- 7. links

LINK_REL = "noopener noreferrer nofollow"
_REL = f'<a rel="{LINK_REL}"'
# Every <a> start tag, whatever its case or spacing, except the in-page links
# the pipeline writes itself (`<a href="#…`, permalinks and footnotes) and
# those already given the rel: the rel goes first, so it is the one the parser
# keeps if an author wrote another. The pattern starts with a literal `<`
# (not a case-insensitive `<a`), so the scan jumps from `<` to `<`.
_LINK_START = re.compile(rf'<[aA](?=[\t\n\f\r />])(?! href="#)(?!{_REL[2:]} href=")')


def _add_rel(html: str) -> str:
    if "<a" not in html and "<A" not in html:
        return html
    # cmark writes every link as `<a href="`: two replaces, at C speed, give
    # those the rel and take it back from the in-page ones; the pattern then
    # finds only what authors wrote some other way.
    html = html.replace('<a href="', f'{_REL} href="').replace(f'{_REL} href="#', '<a href="#')
    return _LINK_START.sub(_REL, html)


# A run of text between tags long enough to hold many references. Runs start
# after a `>`; matching from that literal keeps the scan fast.
_LONG_RUN = re.compile(rf">[^<]{{{REFERENCES_PER_RUN * 4},}}")


def _slow_references(text: str) -> int:
    # Every `&` but the references the parser reads in linear time.
    return text.count("&") - text.count("&#60;") - text.count("&#34;")


def _split_run(match: re.Match) -> str:
    run = match.group(0)
    if _slow_references(run) <= REFERENCES_PER_RUN:
        return run
    # A comment after every REFERENCES_PER_RUN `&` (before the next one, so
    # no reference is cut): one match per comment, not a string per `&`.
    return _REFERENCE_GROUP.sub(_comment_after, run)


_REFERENCE_GROUP = re.compile(rf"[^&]*+(?:&[^&]*+){{{REFERENCES_PER_RUN}}}(?=&)")


def _comment_after(match: re.Match) -> str:
    return match.group() + "<!---->"


def _split_long_runs(html: str) -> str:
    # `&#60;` and `&#34;` are read in linear time whatever the run (200,000:
    # 23 ms whole, 35 ms split); `&#38;` and named references are not
    # (80,000 `&#38;`: 45 ms whole; 200,000 `&copy;`: 519 ms whole, 81 ms
    # split). Most bodies have none of those, and skip the pass.
    if _slow_references(html) <= REFERENCES_PER_RUN:
        return html
    # A body that starts with text has a run before its first tag as well.
    return _LONG_RUN.sub(_split_run, html if html.startswith("<") else ">" + html)[0 if html.startswith("<") else 1 :]


# ---------------------------------------------------------------- 8. nh3

_ID_TAGS = {"h2", "h3", "h4", "h5", "h6", "li", "a"}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "var",
}  # fmt: skip

ALLOWED_ATTRIBUTES = {
    # aria-label names the permalinks and footnote back-links.
    "a": {"href", "title", "aria-label"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}
for _tag in _ID_TAGS:
    ALLOWED_ATTRIBUTES[_tag] = ALLOWED_ATTRIBUTES.get(_tag, set()) | {"id"}

# Classes are limited to what our own pipeline emits (Pygments token classes,
# footnotes, permalinks), so authors cannot borrow the site's own styles.
ALLOWED_CLASSES = {
    "span": {cls for cls in STANDARD_TYPES.values() if cls},
    "div": {"highlight", "footnote", "toc", "heading"},
    "a": {"headerlink", "footnote-backref"},
    "sup": {"footnote-ref"},
}

# A task-list checkbox is named for what it is; its item's text follows it.
TASK_LABEL = "Task"
# Value lists are only for small, fixed sets: ammonia checks them one by one.
_ALLOWED_VALUES = {
    "a": {"rel": {LINK_REL}},
    # Task-list checkboxes, and nothing else an <input> could be.
    "input": {"type": {"checkbox"}, "checked": {""}, "disabled": {""}, "aria-label": {TASK_LABEL}},
}

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style", "template", "iframe", "object", "noscript", "svg", "math"},
    attributes=ALLOWED_ATTRIBUTES,
    tag_attribute_values=_ALLOWED_VALUES,
    set_tag_attribute_values={"input": {"type": "checkbox", "disabled": "", "aria-label": TASK_LABEL}},
    id_prefix=ID_PREFIX,
    url_schemes={"http", "https", "mailto"},
    allowed_classes=ALLOWED_CLASSES,
    # rel is written by _add_rel, on links that leave the page only.
    link_rel=None,
    strip_comments=True,
)


def sanitise(html: str) -> str:
    """The allow-list, always the last step."""
    return _cleaner.clean(html)


# ---------------------------------------------------------------- the pipeline


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str
    text: str
    word_count: int
    reading_time: int


_WORD = re.compile(r"\w+")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def reading_time_for(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def render_markdown(source: str) -> Rendered:
    limit, refused = _refused.get(source, (None, None))
    if limit == MAX_ELEMENTS:
        raise RenderError(refused)
    try:
        # Without `[^` there is no footnote to find, and cmark-gfm's footnote
        # option costs time on every bracket (45 -> 12 ms on "[a" * 100,000).
        footnotes = "[^" in source and source.count("[^") <= FOOTNOTE_REFERENCES
        html = _cmark_html(_limit_tables(_limit_chains(source)), footnotes=footnotes)
        _check_elements(source, html)
        if source.count("<") > RAW_TAG_BUDGET and _may_nest_deeply(html):
            html = _normalise(html)
        html = _highlight_code(html)
        html, headings = _headings(html)
        html = _add_rel(_footnotes(html))
        # `&gt;` needs no escaping outside tags and costs the sanitiser's parser
        # a character reference each; `>` means the same to it. Numeric
        # references for `<`, `"` and `&` mean the same as the named ones and
        # are read about twice as fast.
        html = html.replace("&gt;", ">").replace("&lt;", "&#60;").replace("&quot;", "&#34;").replace("&amp;", "&#38;")
        html = sanitise(_split_long_runs(html))
        toc = _toc(headings)
        # The toc lists only headings, but it is built from author text too.
        toc_html = sanitise(toc) if toc else ""
    except RenderError:
        raise
    except (RecursionError, MemoryError, UnicodeError) as error:
        raise RenderError(
            f"This body could not be rendered ({type(error).__name__}); simplify its structure."
        ) from error
    words = count_words(source)
    return Rendered(
        html=html,
        toc_html=toc_html,
        text=plain_text(html),
        word_count=words,
        reading_time=reading_time_for(words),
    )


_PERMALINK = re.compile(r'<a href="#[^"]*+" class="headerlink"(?:[^>"]|"[^"]*+")*+>#</a>')


# The sanitiser writes only these character references in text (it decodes
# every other one), so replacing them is the whole of unescaping its output.
_SERIALISER_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&nbsp;", "\xa0"), ("&amp;", "&"))


def plain_text(html: str) -> str:
    """Readable text of sanitised HTML: for search snippets and the search index."""
    if 'class="headerlink"' in html:
        html = _PERMALINK.sub("", html)
    text = _ANY_TAG.sub("", html)
    for entity, character in _SERIALISER_ENTITIES:
        text = text.replace(entity, character)
    # U+E000/U+E001 delimit search highlights; they must never come from authors.
    return " ".join(text.replace("\ue000", "").replace("\ue001", "").split())
