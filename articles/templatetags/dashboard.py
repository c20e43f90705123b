"""The editor's dashboard on the admin's start page (#16): `{% editor_dashboard %}`."""

from django import template

from articles import freshness

register = template.Library()


@register.inclusion_tag("admin/includes/dashboard.html", takes_context=True)
def editor_dashboard(context):
    request = context["request"]
    user = request.user
    if not (user.is_authenticated and user.has_perm("articles.change_article")):
        return {"show": False}
    return {"show": True, "can_publish": user.has_perm("articles.publish_article"), **freshness.dashboard(user)}
