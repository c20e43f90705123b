"""Social cards (articles/cards.py): drawn on first request, stored like uploads, new when what they show changes."""

import io
import re

import pytest
from PIL import Image

from articles import cards
from articles.models import Article, Category
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def renders(monkeypatch):
    """How many times a card was drawn."""
    calls = []
    real = cards.render_article_card

    def counting(article):
        calls.append(article.pk)
        return real(article)

    monkeypatch.setattr(cards, "render_article_card", counting)
    return calls


def og_image(client, article) -> str:
    html = client.get(article.get_absolute_url()).content.decode()
    (url,) = re.findall(r'<meta property="og:image" content="([^"]+)">', html)
    return url.removeprefix("http://testserver")


def png(response) -> Image.Image:
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.format == "PNG"
    return image


def test_the_card_the_page_names_is_a_1200_by_630_png_stored_with_the_uploads(client, article_factory, media_root):
    article = article_factory(title="Idempotency keys", slug="idempotency-keys")
    url = og_image(client, article)

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert png(response).size == (1200, 630)
    key = cards.card_key(article)
    assert url == f"/articles/idempotency-keys/card-{key}.png"
    assert (media_root / "cards" / key[:2] / f"{key}.png").is_file()


def test_a_card_is_drawn_once_then_served_from_storage(client, article_factory, renders, media_root):
    article = article_factory()
    url = og_image(client, article)

    first = b"".join(client.get(url).streaming_content)
    second = b"".join(client.get(url).streaming_content)

    assert renders == [article.pk]
    assert first == second
    assert client.head(url).status_code == 200
    assert len(list((media_root / "cards").rglob("*.png"))) == 1


def test_no_card_is_drawn_when_articles_are_saved(article_factory, renders, media_root):
    # Bulk inserts and saves cost nothing: only a request for the card draws it.
    article = article_factory()
    article.title = "Renamed"
    article.save()

    assert renders == []
    assert not (media_root / "cards").exists()


def test_a_new_title_or_category_name_is_a_new_card_and_the_old_address_leads_to_it(client, article_factory, renders):
    article = article_factory(title="Before", category=CategoryFactory(name="Old name", slug="cat"))
    before = og_image(client, article)
    assert client.get(before).status_code == 200

    article.title = "After"
    article.save()
    after_title = og_image(client, article)
    Category.objects.filter(pk=article.category_id).update(name="New name")
    after_category = og_image(client, Article.objects.get(pk=article.pk))

    assert len({before, after_title, after_category}) == 3
    old = client.get(before)
    assert old.status_code == 302
    assert old["Location"] == after_category
    assert client.get(after_category).status_code == 200
    assert len(renders) == 2


def test_the_summary_or_body_changing_keeps_the_card(client, article_factory):
    article = article_factory()
    before = og_image(client, article)

    article.summary = "Another summary."
    article.body = "Another body."
    article.save()

    assert og_image(client, article) == before


def test_unpublished_and_unknown_articles_have_no_card(client, article_factory, renders):
    draft = article_factory(slug="draft", draft=True)
    scheduled = article_factory(slug="later", scheduled=True)

    for article in (draft, scheduled):
        assert client.get(cards.card_path(article)).status_code == 404
    assert client.get("/articles/no-such-article/card-abc.png").status_code == 404
    assert client.post(cards.card_path(article_factory())).status_code == 405
    assert renders == []


def test_two_requests_racing_to_store_a_card_leave_one_file(article_factory, media_root, monkeypatch):
    from django.core.files.storage import default_storage

    article = article_factory()
    name = cards.ensure_stored(article)
    # A second request that looked before the first one had saved: storages never overwrite, they rename.
    looked, real_exists = [], default_storage.exists

    def exists_after_the_first_look(name):
        looked.append(name)
        return len(looked) > 1 and real_exists(name)

    monkeypatch.setattr(default_storage, "exists", exists_after_the_first_look)

    assert cards.ensure_stored(article) == name

    assert [path.relative_to(media_root).as_posix() for path in media_root.rglob("*.png")] == [name]


# ---------------------------------------------------------------- what is drawn


def text_columns(image: Image.Image, top: int, bottom: int) -> tuple[int, int]:
    """The leftmost and rightmost columns with white (title) pixels between two rows."""
    box = image.convert("L").crop((0, top, image.width, bottom))
    mask = box.point(lambda v: 255 if v > 200 else 0)
    left, _, right, _ = mask.getbbox()
    return left, right


def render(title, category="Product Engineering", site_name="kb") -> Image.Image:
    data = cards.render_card(title=title, category=category, site_name=site_name)
    image = Image.open(io.BytesIO(data))
    assert image.size == (1200, 630)
    return image


def test_a_short_title_is_drawn_large_and_a_long_one_smaller_and_wrapped():
    short_font, short_lines, _ = cards.layout_title("Idempotency keys")
    long_title = "Designing idempotent, retry-safe payment APIs with exactly-once semantics " * 2
    long_font, long_lines, line_height = cards.layout_title(long_title.strip())

    assert short_lines == ["Idempotency keys"] and short_font.size == cards.TITLE_SIZES[0]
    assert long_font.size < short_font.size
    assert len(long_lines) > 2
    assert " ".join(long_lines) == long_title.strip()  # every word, in order, nothing cut
    width = 1200 - 2 * cards.MARGIN
    assert all(long_font.getlength(line) <= width for line in long_lines)
    assert len(long_lines) * line_height <= cards.TITLE_BOTTOM - cards.TITLE_TOP


def test_the_longest_title_of_the_widest_letters_is_cut_with_an_ellipsis_inside_the_box():
    title = "W" * Article._meta.get_field("title").max_length
    font, lines, line_height = cards.layout_title(title)

    assert lines[-1].endswith("…")
    assert font.size == cards.TITLE_SIZES[-1]
    assert all(font.getlength(line) <= 1200 - 2 * cards.MARGIN for line in lines)
    assert len(lines) * line_height <= cards.TITLE_BOTTOM - cards.TITLE_TOP
    left, right = text_columns(render(title), cards.TITLE_TOP, cards.TITLE_BOTTOM)
    assert left >= cards.MARGIN - 2 and right <= 1200 - cards.MARGIN + 2


def test_a_word_longer_than_the_line_is_broken_rather_than_overflowing():
    url = "https://example.com/" + "segment/" * 15
    font, lines, _ = cards.layout_title(url)

    assert "".join(lines) == url
    assert all(font.getlength(line) <= 1200 - 2 * cards.MARGIN for line in lines)


def test_markup_in_a_title_is_drawn_as_typed_and_characters_the_font_lacks_are_left_out():
    assert cards.drawable("</script><b>bold</b> & “quotes”") == "</script><b>bold</b> & “quotes”"
    assert cards.drawable("Ship it 🚀 now 中文") == "Ship it now"
    assert (
        cards.drawable("Tabs\tnew\nlines\x00 and\u200b zero\u200dwidth") == "Tabs new lines and\u200b zero\u200dwidth"
    )
    assert cards.drawable("🚀🔥") == ""


@pytest.mark.parametrize(
    "title",
    [
        "🚀🔥💥",
        "",
        "a\u0301" * 100,  # a letter and a combining accent, a hundred times
        "Z\u0351\u0352\u0353\u0354" * 40,  # stacked combining marks
        "\u202eevil\u202c right-to-left override",
        "x" * 200,
        "<img src=x onerror=alert(1)>",
    ],
)
def test_hostile_titles_still_give_a_card(title):
    render(title)


def test_right_to_left_titles_are_set_from_the_right_margin():
    arabic = render("واجهات برمجة التطبيقات")  # one line, shorter than the box
    english = render("API keys")

    arabic_left, arabic_right = text_columns(arabic, cards.TITLE_TOP, cards.TITLE_BOTTOM)
    english_left, english_right = text_columns(english, cards.TITLE_TOP, cards.TITLE_BOTTOM)
    assert abs(arabic_right - (1200 - cards.MARGIN)) <= 8
    assert arabic_left > cards.MARGIN + 100  # not set from the left
    assert abs(english_left - cards.MARGIN) <= 8
    assert english_right < 1000


def test_the_card_is_small_enough_for_every_link_preview():
    data = cards.render_card(title="W " * 100, category="Product Engineering", site_name="kb")

    # Twitter/X takes up to 5 MB, Facebook 8 MB; a card is tens of kilobytes.
    assert len(data) < 100_000
