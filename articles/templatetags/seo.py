"""Head metadata for templates/includes/meta.html; the logic lives in articles.seo."""

from django import template
from django.utils.html import format_html

from articles import seo

register = template.Library()


@register.simple_tag(takes_context=True)
def canonical_url(context):
    request = context.get("request")
    if request is None:
        return ""
    # The listing's own, already validated, page (absent on other pages).
    page = context.get("page_obj")
    return seo.canonical_url(request, page.number if page is not None else None)


@register.simple_tag(takes_context=True)
def article_json_ld(context, article):
    """The article's TechArticle and its BreadcrumbList, as two JSON-LD elements."""
    request = context["request"]
    trail = seo.breadcrumb_trail(request, article)
    return format_html(
        "{}\n  {}", seo.json_ld(seo.article_data(request, article)), seo.json_ld(seo.breadcrumb_data(trail))
    )


@register.simple_tag(takes_context=True)
def breadcrumb_trail(context, article):
    return seo.breadcrumb_trail(context["request"], article)


@register.simple_tag(takes_context=True)
def article_card(context, article):
    return seo.article_card(context["request"], article)


@register.simple_tag(takes_context=True)
def website_json_ld(context):
    return seo.json_ld(seo.website_data(context["request"]))


@register.simple_tag(takes_context=True)
def collection_json_ld(context, name, description):
    url = canonical_url(context)
    return seo.json_ld(seo.collection_data(context["request"], name=name, description=description, url=url))


@register.filter
def has_code_blocks(article) -> bool:
    """Whether the article's page needs the code highlighting stylesheet (articles.seo.has_code_blocks)."""
    return seo.has_code_blocks(article)
