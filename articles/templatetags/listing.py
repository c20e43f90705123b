"""`{% card article %}`: an article's card (articles.listing.card_html), for listings, home and search."""

from django import template

from articles.listing import card_html

register = template.Library()


@register.simple_tag
def card(article, level=2, snippet=""):
    return card_html(article, level=level, snippet=snippet)
