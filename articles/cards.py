"""Social cards: the 1200×630 PNG that link previews show for an article (`og:image`).

A card shows the article's title, its category and the site's name, drawn
with Pillow in the DejaVu Sans font shipped in static/fonts/ (its licence is
next to it).

Cards are content-addressed and made on first request, then stored:

- `card_key()` hashes what the card shows (and the design's version). The
  card's URL carries the key, so a new title or category is a new URL: link
  previews that cached the old image fetch the new one, and the old URL
  redirects to the current card.
- The first request for a key renders the card (about 40 ms) and saves it in
  the default storage, where uploaded images live (MEDIA_ROOT, or the S3
  bucket); every later request serves the stored file.

Why not render at save: the corpus generator and imports insert articles in
bulk without Article.save() (100,000 cards would add about an hour), renaming
a category would have to re-render every article in it, and drafts never
shared would be drawn for nothing. Only the articles somebody shares cost a
render, once each; a crawler gets its card well within its timeout. No
column is needed, so nothing can disagree with the title it was drawn from.
"""

import functools
import hashlib
import io
import json
import logging
import unicodedata

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_safe
from PIL import Image, ImageDraw, ImageFont, features

logger = logging.getLogger("articles.cards")

WIDTH, HEIGHT = 1200, 630
# Bump when the drawing changes: every card gets a new key, so a new URL.
DESIGN_VERSION = 1

FONT_DIR = settings.BASE_DIR / "static" / "fonts"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
REGULAR = FONT_DIR / "DejaVuSans.ttf"

BACKGROUND = (11, 18, 32)
ACCENT = (11, 87, 208)
TEXT = (255, 255, 255)
MUTED = (169, 178, 189)
CATEGORY = (138, 180, 255)

MARGIN = 80
TITLE_TOP = 170
TITLE_BOTTOM = 500
# Largest first; the first size at which the title fits in its box wins.
TITLE_SIZES = (72, 64, 56, 48, 42)

# Raqm shapes text and orders right-to-left scripts (Arabic, Hebrew); it needs
# libfribidi at run time. Without it, letters are drawn in stored order.
LAYOUT = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


@functools.cache
def _font(path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=LAYOUT)


# ---------------------------------------------------------------- what a card shows


def card_key(article) -> str:
    """A hash of everything the card shows, in its URL and its file name."""
    shown = [DESIGN_VERSION, article.title, article.category.name, settings.SITE_NAME]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:24]


def storage_name(key: str) -> str:
    return f"cards/{key[:2]}/{key}.png"


def card_path(article) -> str:
    return reverse("articles:card", kwargs={"slug": article.slug, "key": card_key(article)})


def card_alt(article) -> str:
    return f"“{article.title}” — {article.category.name}, {settings.SITE_NAME}"


# ---------------------------------------------------------------- drawing


@functools.cache
def _missing_glyph_mask(path, size: int) -> bytes:
    # U+10FFFF is a noncharacter no font maps: what the font draws for "no glyph".
    return bytes(_font(path, size).getmask("\U0010ffff"))


@functools.lru_cache(maxsize=4096)
def _has_glyph(path, character: str) -> bool:
    if unicodedata.category(character) in {"Mn", "Me", "Cf", "Zs"}:
        return True  # marks, joiners and spaces draw nothing on their own
    return bytes(_font(path, 24).getmask(character)) != _missing_glyph_mask(path, 24)


def drawable(text: str, path=BOLD) -> str:
    """`text` on one line, without control characters or what the font cannot draw (emoji, CJK): no boxes."""
    text = "".join(
        character
        for character in " ".join(text.split())
        if unicodedata.category(character) not in {"Cc", "Cs", "Co", "Cn"} and _has_glyph(path, character)
    )
    return " ".join(text.split())


def _is_rtl(text: str) -> bool:
    for character in text:
        direction = unicodedata.bidirectional(character)
        if direction in {"R", "AL"}:
            return True
        if direction == "L":
            return False
    return False


def _split_word(word: str, font, width: int) -> list[str]:
    """A word wider than the line (a URL, a hash), cut into pieces that fit."""
    pieces, piece = [], ""
    for character in word:
        if piece and font.getlength(piece + character) > width:
            pieces.append(piece)
            piece = ""
        piece += character
    return [*pieces, piece] if piece else pieces


def wrap(text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        for piece in _split_word(word, font, width) if font.getlength(word) > width else [word]:
            candidate = f"{line} {piece}" if line else piece
            if line and font.getlength(candidate) > width:
                lines.append(line)
                line = piece
            else:
                line = candidate
    return [*lines, line] if line else lines


def _ellipsize(line: str, font, width: int) -> str:
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


def layout_title(title: str, width: int = WIDTH - 2 * MARGIN, height: int = TITLE_BOTTOM - TITLE_TOP):
    """(font, lines, line height): the largest size at which the title fits its box; cut with "…" past the last."""
    for size in TITLE_SIZES:
        font = _font(BOLD, size)
        line_height = round(size * 1.22)
        lines = wrap(title, font, width)
        if len(lines) * line_height <= height:
            return font, lines, line_height
    fitting = height // line_height
    if len(lines) > fitting:
        lines = [*lines[: fitting - 1], _ellipsize(lines[fitting - 1], font, width)]
    return font, lines, line_height


def render_card(*, title: str, category: str, site_name: str) -> bytes:
    """The card as PNG bytes. Text is drawn as text, never interpreted: markup in a title is shown as typed."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 16, HEIGHT], fill=ACCENT)
    content_width = WIDTH - 2 * MARGIN

    category = drawable(category, REGULAR)
    if category:
        font = _font(REGULAR, 34)
        if font.getlength(category) > content_width:
            category = _ellipsize(category, font, content_width)
        x, anchor = (WIDTH - MARGIN, "rs") if _is_rtl(category) else (MARGIN, "ls")
        draw.text((x, 96), category, font=font, fill=CATEGORY, anchor=anchor)

    title = drawable(title)
    if title:
        font, lines, line_height = layout_title(title)
        right_to_left = _is_rtl(title)
        y = TITLE_TOP
        for line in lines:
            x, anchor = (WIDTH - MARGIN, "ra") if right_to_left else (MARGIN, "la")
            draw.text((x, y), line, font=font, fill=TEXT, anchor=anchor)
            y += line_height

    # The site's name on its colour, like the mark in the page header.
    font = _font(BOLD, 30)
    name = drawable(site_name) or "kb"
    if font.getlength(name) > content_width - 40:
        name = _ellipsize(name, font, content_width - 40)
    draw.rounded_rectangle([MARGIN, 536, MARGIN + font.getlength(name) + 40, 592], radius=12, fill=ACCENT)
    draw.text((MARGIN + 20, 564), name, font=font, fill=TEXT, anchor="lm")

    # Flat colours and anti-aliased text: 32 colours look the same, and the PNG is 40% of the full-colour one.
    # (Median cut or zlib level 9 would save another 10% for four times the time.)
    buffer = io.BytesIO()
    image.quantize(colors=32, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG")
    return buffer.getvalue()


def render_article_card(article) -> bytes:
    return render_card(title=article.title, category=article.category.name, site_name=settings.SITE_NAME)


# ---------------------------------------------------------------- storing and serving


def ensure_stored(article, key: str | None = None) -> str:
    """The storage name of the article's current card, drawing and saving it first if nobody has."""
    name = storage_name(key or card_key(article))
    if default_storage.exists(name):
        return name
    saved = default_storage.save(name, ContentFile(render_article_card(article)))
    if saved != name:
        # Another request stored the same card a moment earlier; storages never overwrite.
        default_storage.delete(saved)
    return name


@require_safe
def card_view(request, slug: str, key: str):
    from articles.models import Article

    article = get_object_or_404(Article.objects.published().select_related("category"), slug=slug)
    current = card_key(article)
    if key != current:
        # A link preview made before the title changed: the card as it is now.
        return HttpResponseRedirect(card_path(article))
    response = FileResponse(default_storage.open(ensure_stored(article, current)), content_type="image/png")
    # The URL changes with the content, so the file never does.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
