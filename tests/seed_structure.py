"""The visible structure of rendered article HTML, for comparing renderers.

`tests/data/seed-rendering.json` holds this structure for the 52 seed articles
as Python-Markdown 3.11.3 rendered them (captured before kb moved to
cmark-gfm); `tests/test_seed_rendering.py` compares today's rendering with it.
It compares what a reader sees (heading texts, levels and ids, the table of
contents, code and its highlighting, tables, lists, links, emphasis, footnotes,
the order of blocks, the plain text), never the bytes.

Regenerate only on purpose: `python -m tests.seed_structure > tests/data/seed-rendering.json`.
"""

import hashlib
import json
import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "hr", "div", "dl", "details"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self, tag=None):
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def is_permalink(self):
        # The heading's own "link to this section" anchor, whatever its markup.
        return self.tag == "a" and ("headerlink" in self.classes or "heading-anchor" in self.classes)

    def is_footnote_backref(self):
        return self.tag == "a" and ("footnote-backref" in self.classes or "data-footnote-backref" in self.attrs)

    def text(self):
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not (child.is_permalink() or child.is_footnote_backref() or child.tag == "input"):
                parts.append(child.text())
        return "".join(parts)

    def words(self):
        return " ".join(self.text().split())


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html):
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _inside(node, tag):
    node = node.parent
    while node is not None:
        if node.tag == tag:
            return True
        node = node.parent
    return False


def _list_depth(node):
    depth, parent = 0, node.parent
    while parent is not None:
        depth += parent.tag in {"ul", "ol"}
        parent = parent.parent
    return depth


def _highlighting(pre):
    """The Pygments token classes over the code's text: equal only when the same lexer ran."""
    tokens = []

    def walk(node, cls):
        for child in node.children:
            if isinstance(child, str):
                tokens.append(f"{cls}\t{child}")
            else:
                walk(child, " ".join(child.classes) or cls)

    walk(pre, "")
    merged = []
    for token in tokens:
        cls, _, text = token.partition("\t")
        if text == "":
            continue
        if merged and merged[-1][0] == cls:
            merged[-1][1] += text
        else:
            merged.append([cls, text])
    digest = hashlib.sha256(json.dumps(merged).encode()).hexdigest()[:16]
    return digest, len([m for m in merged if m[0]])


def _outline(root):
    """The order of block-level elements at the top of the body."""
    outline = []
    for child in root.children:
        if isinstance(child, Node) and child.tag in BLOCKS:
            heading = _wrapped_heading(child)
            if heading is not None:
                outline.append(heading.tag)
            elif child.tag == "div":
                outline.append("div." + ".".join(child.classes) if child.classes else "div")
            elif child.tag == "section":
                outline.append("footnotes")
            else:
                outline.append(child.tag)
    return outline


def _wrapped_heading(node):
    """The heading inside a `<div class="heading">` (the heading and its permalink), if that is what node is."""
    if node.tag == "div" and "heading" in node.classes:
        return next((c for c in node.children if isinstance(c, Node) and re.fullmatch(r"h[1-6]", c.tag)), None)
    return None


def _is_footnotes_container(node):
    return (node.tag == "div" and "footnote" in node.classes) or (
        node.tag == "section" and ("footnotes" in node.classes or "data-footnotes" in node.attrs)
    )


def structure(body_html, toc_html=""):
    root = parse(body_html)
    footnote_items = []
    for container in root.iter():
        if _is_footnotes_container(container):
            footnote_items.extend(container.iter("li"))
    footnote_set = set(map(id, footnote_items))
    code_blocks = []
    for pre in root.iter("pre"):
        digest, highlighted = _highlighting(pre)
        code_blocks.append({"text": pre.text(), "highlighting": digest, "highlighted_tokens": highlighted})
    tables = []
    for table in root.iter("table"):
        rows = [[cell.words() for cell in tr.children if isinstance(cell, Node)] for tr in table.iter("tr")]
        first = next(table.iter("tr"), None)
        align = [cell.attrs.get("align") for cell in first.children if isinstance(cell, Node)] if first else []
        tables.append({"align": align, "rows": rows})
    lists = []
    for list_node in root.iter():
        if list_node.tag not in {"ul", "ol"} or _is_footnotes_list(list_node, footnote_set):
            continue
        items = []
        for li in list_node.children:
            if isinstance(li, Node) and li.tag == "li":
                own = [c for c in li.children if not (isinstance(c, Node) and c.tag in {"ul", "ol"})]
                holder = Node("li", {})
                holder.children = own
                items.append(holder.words())
        lists.append({"ordered": list_node.tag == "ol", "depth": _list_depth(list_node), "items": items})
    toc = []
    if toc_html:
        for a in parse(toc_html).iter("a"):
            toc.append([_list_depth(a), a.words(), a.attrs.get("href")])
    return {
        "outline": _outline(root),
        "headings": [
            [int(h.tag[1]), h.words(), h.attrs.get("id")] for h in root.iter() if re.fullmatch(r"h[1-6]", h.tag)
        ],
        "toc": toc,
        "code_blocks": code_blocks,
        "inline_code": [c.text() for c in root.iter("code") if not _inside(c, "pre")],
        "tables": tables,
        "lists": lists,
        "links": [
            [a.words(), a.attrs.get("href")]
            for a in root.iter("a")
            if not (a.is_permalink() or a.is_footnote_backref() or "footnote-ref" in a.classes or _inside(a, "sup"))
        ],
        "emphasis": [[e.tag, e.words()] for e in root.iter() if e.tag in {"strong", "em", "del", "b", "i", "s"}],
        "images": [[img.attrs.get("src"), img.attrs.get("alt")] for img in root.iter("img")],
        "blockquotes": [b.words() for b in root.iter("blockquote")],
        "footnotes": [li.words() for li in footnote_items],
        "text": root.words(),
    }


def _is_footnotes_list(node, footnote_set):
    return any(id(li) in footnote_set for li in node.children if isinstance(li, Node))


def seed_structures():
    from articles.rendering import render_markdown
    from articles.seed import SEED_DIR, read_seed_file

    result = {}
    for path in sorted((SEED_DIR / "product-engineering").glob("*.md")):
        data = read_seed_file(path)
        rendered = render_markdown(data["body"])
        result[data["slug"]] = structure(rendered.html, rendered.toc_html)
    return result


if __name__ == "__main__":
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings_test")
    import django

    django.setup()
    json.dump(seed_structures(), sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
