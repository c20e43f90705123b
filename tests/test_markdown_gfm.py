"""GitHub's Markdown, where readers notice it, and the markup around it (issue 12)."""

import re

from articles.rendering import LINK_REL, render_markdown
from tests.seed_structure import parse


def html_of(source):
    return render_markdown(source).html


def test_two_space_nested_lists_nest_as_on_github():
    root = parse(html_of("- item\n  - nested\n    - deeper\n- next"))
    (outer,) = [node for node in root.children if getattr(node, "tag", None) == "ul"]
    items = [child for child in outer.children if getattr(child, "tag", None) == "li"]
    assert [item.words() for item in items] == ["item nested deeper", "next"]
    assert len(list(outer.iter("ul"))) == 2


def test_fenced_code_inside_a_list_item_stays_in_the_item_and_is_highlighted():
    html = html_of("1. Install:\n   ```bash\n   pip install kb\n   ```\n2. Run it.")
    item = re.search(r"<li>Install:(.*?)</li>", html, re.S).group(1)
    assert '<div class="highlight">' in item
    assert '<span class="n">pip</span>' in item or "pip" in item
    assert "<li>Run it.</li>" in html


def test_task_list_items_are_disabled_checkboxes():
    html = html_of("- [ ] write tests\n- [x] ship")
    # Named, so assistive technology announces "Task, checkbox, checked".
    assert '<li><input type="checkbox" disabled="" aria-label="Task"> write tests</li>' in html
    assert '<li><input type="checkbox" checked="" disabled="" aria-label="Task"> ship</li>' in html


def test_authors_cannot_write_any_other_input_or_a_form():
    html = html_of(
        '<form action="https://evil.example"><input type="text" name="password" value="x" formaction="y">'
        '<input type="submit"><input type="checkbox" name="c" onclick="alert(1)"><button>go</button></form>'
    )
    inputs = [sorted(re.findall(r'([a-z-]+)="([^"]*)"', tag)) for tag in re.findall(r"<input[^>]*>", html)]
    assert inputs == [[("aria-label", "Task"), ("disabled", ""), ("type", "checkbox")]] * 3
    assert "<form" not in html and "<button" not in html


def test_bare_urls_and_www_are_autolinked_with_rel():
    html = html_of("See https://docs.djangoproject.com/en/5.2/ and www.example.org.")
    assert f'<a rel="{LINK_REL}" href="https://docs.djangoproject.com/en/5.2/">' in html
    assert f'<a rel="{LINK_REL}" href="http://www.example.org">www.example.org</a>' in html


def test_tables_keep_their_column_alignment():
    html = html_of("| left | centre | right |\n|:-----|:------:|------:|\n| a | b | c |")
    assert '<th align="left">left</th>' in html
    assert '<th align="center">centre</th>' in html
    assert '<td align="right">c</td>' in html


def test_table_alignment_is_not_overridden_by_the_stylesheet(settings):
    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    assert '.prose td[align="right"]' in css and "text-align: right" in css


def test_strikethrough_and_footnotes():
    rendered = render_markdown("~~old~~ new.[^why]\n\n[^why]: Because.")
    assert "<del>old</del>" in rendered.html
    assert '<a href="#h-fn-why" id="h-fnref-why">1</a>' in rendered.html
    assert '<li id="h-fn-why">' in rendered.html
    assert 'aria-label="Back to reference 1"' in rendered.html


def test_footnote_labels_with_other_characters_get_safe_matching_ids():
    html = html_of("A[^é.l'été] B[^é.l'été].\n\n[^é.l'été]: Note.")
    ids = re.findall(r'id="([^"]+)"', html)
    hrefs = re.findall(r'href="#([^"]+)"', html)
    assert ids and all(re.fullmatch(r"h-(fn|fnref)-[A-Za-z0-9_-]+", i) for i in ids)
    assert set(hrefs) <= set(ids)


def test_the_permalink_is_beside_the_heading_and_has_its_own_name():
    html = html_of("## Getting started")
    assert html.startswith(
        '<div class="heading"><h2 id="h-getting-started">Getting started</h2>'
        '<a href="#h-getting-started" class="headerlink" aria-label="Link to this section: Getting started">#</a>'
        "</div>"
    )
    # The heading's accessible name is its text: no link, no "#" inside it.
    assert re.search(r"<h2[^>]*>Getting started</h2>", html)


def test_links_inside_the_page_have_no_rel_and_links_out_of_it_do():
    rendered = render_markdown("## A\n\n[out](https://example.com) [in](#h-a) note[^1]\n\n[^1]: x")
    anchors = re.findall(r"<a [^>]*>", rendered.html + rendered.toc_html)
    inside = [anchor for anchor in anchors if 'href="#' in anchor]
    outside = [anchor for anchor in anchors if 'href="#' not in anchor]
    assert len(inside) == 5  # the permalink, [in], the footnote, its back-link, the toc entry
    assert all("rel=" not in anchor for anchor in inside)
    assert outside == [f'<a rel="{LINK_REL}" href="https://example.com">']


def test_author_ids_are_prefixed_so_nothing_is_clobbered():
    html = html_of('<h2 id="forms">x</h2><a id="location" href="#x">y</a><img name="getElementById" src="a.png">')
    ids = re.findall(r'id="([^"]+)"', html)
    assert "forms" not in ids and "location" not in ids
    assert all(i.startswith("h-") for i in ids)
    assert "name=" not in html


def test_a_level_one_heading_is_demoted_and_headings_past_the_limit_still_render():
    html = html_of("# Title\n\n" + "## x\n" * 600)
    assert "<h1" not in html
    assert html.count("<h2") == 601
    assert html.count('class="headerlink"') == 500


def test_heading_ids_stay_unique_as_python_markdown_numbered_them():
    rendered = render_markdown("## Setup\n\n## Setup\n\n## Setup_1\n\n## Setup")
    assert re.findall(r'<h2 id="([^"]+)"', rendered.html) == ["h-setup", "h-setup_1", "h-setup_1_1", "h-setup_2"]


def test_the_table_of_contents_nests_h3_under_h2_and_skips_deeper_levels():
    toc = render_markdown("## One\n\n### One.a\n\n#### Deep\n\n## Two").toc_html
    assert re.sub(r"\s+", "", toc) == (
        '<divclass="toc"><ul><li><ahref="#h-one">One</a><ul><li><ahref="#h-onea">One.a</a></li></ul></li>'
        '<li><ahref="#h-two">Two</a></li></ul></div>'
    )


def test_raw_html_that_github_allows_still_works():
    html = html_of("<details>\n<summary>More</summary>\n\nHidden **text**.\n\n</details>\n\nPress <kbd>Ctrl</kbd>.")
    assert "<details>" in html and "<summary>More</summary>" in html
    assert "<strong>text</strong>" in html
    assert "<kbd>Ctrl</kbd>" in html


def test_html_with_many_tags_goes_through_the_nesting_limit_unchanged_when_well_formed():
    table = "<table>" + "<tr><td>a</td><td>b</td></tr>" * 40 + "</table>"
    html = html_of(table)
    assert html.count("<td>") == 80 and html.count("</tr>") == 40


def test_too_many_footnote_references_turn_footnotes_off():
    # Every reference writes a back-link into its note: 1,000 is the most we render.
    assert "footnote" in html_of("a[^1] " * 999 + "\n\n[^1]: x")
    html = html_of("a[^1] " * 1000 + "\n\n[^1]: x")
    assert "footnote" not in html and "<sup" not in html


def test_a_table_too_big_to_pad_is_left_as_text():
    columns = 300
    body = "|" + "a|" * columns + "\n|" + "-|" * columns + "\n" + "|x|\n" * 100
    assert "<table" not in html_of(body)
    assert "<table" in html_of("|a|b|\n|-|-|\n" + "|x|y|\n" * 100)
