"""Hostile Markdown bodies: what an author (or a stolen account) could paste to stall the renderer.

Each body is built to the size cap (`CAP`, settings.ARTICLE_BODY_MAX_BYTES)
from a pattern, so every row is as bad as that pattern gets. `corpus(size)`
builds the same patterns at another size, for the linear-growth test.
"""

import string

CAP = 200 * 1024


def fill(unit: str, size: int) -> str:
    """`unit` repeated to exactly `size` bytes of UTF-8 (the cap counts bytes)."""
    unit_bytes = len(unit.encode())
    body = unit * (size // unit_bytes)
    return body + unit.encode()[: size - len(body.encode())].decode("utf-8", "ignore")


def nest(opening: str, middle: str, closing: str, size: int) -> str:
    """`opening` * n + middle + `closing` * n, as deep as fits in `size`."""
    n = (size - len(middle.encode())) // (len(opening.encode()) + len(closing.encode()))
    return opening * n + middle + closing * n


def staircase(prefix: str, item: str, size: int) -> str:
    """Lines nested one level deeper each (prefix repeated i times), until `size`."""
    lines, used, depth = [], 0, 0
    while True:
        line = prefix * depth + item + "\n"
        if used + len(line.encode()) > size:
            break
        lines.append(line)
        used += len(line.encode())
        depth += 1
    return "".join(lines)


def repeated_table(columns: int, size: int) -> str:
    header = "|" + "|".join(f"h{i}" for i in range(columns)) + "|\n"
    rule = "|" + "|".join("---" for _ in range(columns)) + "|\n"
    row = "|" + "|".join("x" for _ in range(columns)) + "|\n"
    return header + rule + fill(row, size - len(header) - len(rule))


def wide_table_short_rows(size: int) -> str:
    """A header of thousands of columns over thousands of one-cell rows: the padding must not multiply."""
    columns = size // 8
    header = "|" + "a|" * columns + "\n" + "|" + "-|" * columns + "\n"
    return header + fill("|x|\n", size - len(header))


def footnotes(size: int) -> str:
    refs, defs, n = [], [], 0
    while True:
        ref, definition = f"Claim [^n{n}].\n", f"[^n{n}]: Source {n}.\n"
        if sum(map(len, refs)) + sum(map(len, defs)) + len(ref) + len(definition) + 2 > size:
            break
        refs.append(ref)
        defs.append(definition)
        n += 1
    return "".join(refs) + "\n" + "".join(defs)


def one_footnote_cited_everywhere(size: int) -> str:
    tail = "\n\n[^1]: The one source.\n"
    return fill("a[^1] ", size - len(tail)) + tail


def corpus(size: int = CAP) -> dict[str, str]:
    bodies = {
        # The rows of issue 12.
        "brackets [": fill("[", size),
        "image openers ![": fill("![", size),
        "headings # a": fill("# a\n", size),
        "unclosed tags <a": fill("<a", size),
        "list nested by 2 spaces": staircase("  ", "- item", size),
        # Deep nesting of every block kind.
        "blockquote chain >": fill(">", size),
        "blockquote chain > ": fill("> ", size),
        "blockquote staircase": staircase(">", " quote", size),
        "bullet chain - x": fill("- ", size - 1) + "x",
        "star chain * x": fill("* ", size - 1) + "x",
        "ordered chain 1. x": fill("1. ", size - 1) + "x",
        "mixed chain > - 1.": fill("> - 1. ", size - 1) + "x",
        "ordered staircase": staircase("   ", "1. item", size),
        "bullet staircase by 4": staircase("    ", "- item", size),
        "footnote definition chain": fill("[^a]: ", size - 1) + "x",
        "nested lists with code": staircase("  ", "- ```\n", size),
        "raw div nesting": fill("<div>", size),
        "raw blockquote nesting": fill("<blockquote>", size),
        "raw list nesting": fill("<ul><li>", size),
        "raw details nesting": fill("<details>", size),
        "raw dl nesting": fill("<dl><dd>", size),
        "raw table nesting": fill("<table><tr><td>", size),
        "raw span nesting": fill("<span>", size),
        "raw b nesting": fill("<b>", size),
        "raw em with attributes": "".join(f'<em title="{i}">' for i in range(size // 18)),
        "raw div per paragraph": fill("<div>\n\ntext\n\n", size),
        "raw balanced deep divs": nest("<div>", "x", "</div>", size),
        "raw divs closed in table cells": fill("<div>\n\n| a |\n| - |\n| </div> |\n\n", size),
        "raw em then div": fill("*<div>x*", size),
        "unclosed raw p": fill("<p>a", size),
        "unclosed raw li": fill("<li>a", size),
        # Inline nesting.
        "nested emphasis *": nest("*", "a", "*", size),
        "nested emphasis _": nest("_", "a", "_", size),
        "nested strong **": nest("**", "a", "**", size),
        "nested strikethrough": nest("~~", "a", "~~", size),
        "nested links": nest("[", "a", "](b)", size),
        "nested images": nest("![", "a", "](b)", size),
        "nested code spans": nest("`", "a", "`", size),
        # Long runs and alternations of delimiters.
        "emphasis a*": fill("a*", size),
        "emphasis *a": fill("*a", size),
        "strong **a": fill("**a", size),
        "emphasis _a": fill("_a", size),
        "mixed *a_": fill("*a_", size),
        "strikethrough ~~a": fill("~~a", size),
        "link openers [a](": fill("[a](", size),
        "links [a](b)": fill("[a](b) ", size),
        "titled links": fill('[a](b "t") ', size),
        "image links ![[]()": fill("![[]()", size),
        "footnote openers [^": fill("[^", size),
        "reference definitions": fill("[a]: /u\n", size - 4) + "[a]\n",
        "reference uses": "[a]: /u\n\n" + fill("[a] ", size - 10),
        "autolinks <http://…>": fill("<http://a.b> ", size),
        "bare urls": fill("http://a.b ", size),
        "bare www urls": fill("www.a.b ", size),
        "url with open parens": "http://a.b/" + fill("(", size - 11),
        "url with close parens": "http://a.b/" + fill(")", size - 11),
        "emails": fill("a@b.cd ", size),
        "entities &amp;": fill("&amp;", size),
        "numeric entities": fill("&#123;", size),
        "unfinished entities": fill("&#", size),
        # Kept as written inside raw HTML, where cmark-gfm passes them on.
        "named entities in raw HTML": "<div>\n" + fill("&copy;", size - 6),
        "comments <!--": fill("<!--", size),
        "processing instructions <?": fill("<?", size),
        "cdata": fill("<![CDATA[", size),
        "declarations <!X": fill("<!X", size),
        "closing tags </div>": fill("</div>", size),
        "unterminated attribute": fill("<a href='", size),
        "huge tag": "<div" + fill(" a", size - 5) + ">",
        "quoted greater-thans": '<a title="' + fill(">", size - 10),
        "script tags": fill("<script>", size),
        "svg tags": fill("<svg>", size),
        "style and textarea": fill("<style><textarea>", size),
        "task list items": fill("- [ ] a\n", size),
        "checked task list items": fill("- [x] a\n", size),
        # Huge tables.
        "table with many rows": repeated_table(3, size),
        "table with many columns": repeated_table(size // 12, size),
        "wide header, one-cell rows": wide_table_short_rows(size),
        "table pipes": fill("|", size),
        "table rows of pipes": fill("|a|\n|-|\n", size),
        # Footnotes.
        "thousands of footnotes": footnotes(size),
        "one footnote cited everywhere": one_footnote_cited_everywhere(size),
        # Headings and code.
        "setext headings": fill("a\n=\n", size),
        "h6 headings": fill("###### a\n", size),
        "colliding heading ids": "".join(f"## x\n## x_{i}\n" for i in range(size // 16))[:size],
        "one long heading": "## " + fill("word ", size - 3),
        "empty fences": fill("```\n", size),
        "python fences": fill("```python\n```\n", size),
        "tilde fences": fill("~~~\n", size),
        "indented code": fill("    code\n", size),
        "one big python block": "```python\n" + fill("def f(x): return x  # c\n", size - 15) + "\n```\n",
        "one big block of brackets": "```python\n" + fill("([{'\"", size - 15) + "\n```\n",
        # Megabyte-long lines are over the cap; at the cap, one line.
        "one long line": fill("a", size),
        "one long line of words": fill("word ", size),
        "one long line of stars": fill("* a ", size),
        "backslashes": fill("\\", size),
        "tabs and spaces": fill(" \t", size),
        "blank lines": fill("\n", size),
        "horizontal rules": fill("---\n", size),
        "unicode": fill("é漢字🙂", size),
        "mixed markdown and raw tags": fill("*a* ", size - 600) + "<b>x</b>" * 70,
    }
    for character in string.punctuation:
        bodies[f"run of {character}"] = fill(character, size)
        bodies[f"{character} and letters"] = fill(character + "a", size)
        bodies[f"{character} and spaces"] = fill(character + " ", size)
    return bodies
