"""Head metadata for templates/includes/meta.html; the logic lives in articles.seo."""

from django import template

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
    return seo.json_ld(seo.article_data(context["request"], article))


@register.simple_tag(takes_context=True)
def website_json_ld(context):
    return seo.json_ld(seo.website_data(context["request"]))


@register.simple_tag(takes_context=True)
def collection_json_ld(context, name, description):
    url = canonical_url(context)
    return seo.json_ld(seo.collection_data(context["request"], name=name, description=description, url=url))
