"""The API reference at /api/v1/docs: one server-rendered page generated from the OpenAPI document.

It replaces django-ninja's Swagger UI (a megabyte of JavaScript, a blank page
without it, no `lang`, no viewport, low contrast; Lighthouse mobile 34 for
performance and 79 for accessibility, #15). The page is a plain template on
base.html: every operation with its parameters and responses, and every
schema with its fields, linked to each other by anchors; no script needed.
It is `noindex` (a reference for developers, not an article), and
/api/v1/openapi.json stays for tools.

The document is the one `openapi.json` serves (`api.get_openapi_schema()`), so
the reference cannot drift from the API; only its shape is turned into what
the template lists. Descriptions are our own text, escaped, with `code` spans.
"""

import functools
import re

from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from ninja.openapi.docs import DocsBase

_CODE = re.compile(r"`([^`]+)`")
_REF = "#/components/schemas/"
METHODS = ("get", "head", "post", "put", "patch", "delete")


def inline(text: str | None) -> str:
    """Escaped text with `code` spans, as the descriptions are written."""
    return mark_safe(_CODE.sub(r"<code>\1</code>", escape(text or "")))  # noqa: S308 (escaped above)


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def type_html(schema: dict) -> str:
    """A schema's type in words, a referenced schema as a link to its section."""
    if not schema:
        return mark_safe("any")  # noqa: S308 (a constant)
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(_REF)
        return format_html('<a href="#{}">{}</a>', schema_anchor(name), name)
    for combinator, joiner in (("anyOf", " or "), ("oneOf", " or "), ("allOf", " and ")):
        if combinator in schema:
            return mark_safe(joiner.join(type_html(part) for part in schema[combinator]))  # noqa: S308 (parts are safe)
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return mark_safe(" or ".join(escape(k) for k in kind))  # noqa: S308 (escaped)
    if kind == "array":
        return format_html("array of {}", type_html(schema.get("items", {})))
    if "format" in schema:
        return format_html("{} ({})", kind, schema["format"])
    return escape(kind)


def constraints(schema: dict) -> list[str]:
    """What a value must be, in words: allowed values, bounds, lengths, the pattern, the default."""
    out = []
    if "enum" in schema:
        out.append(format_html("one of {}", format_html_join(", ", "<code>{}</code>", ((v,) for v in schema["enum"]))))
    for key, words in (("minimum", "at least"), ("maximum", "at most")):
        if key in schema:
            out.append(format_html("{} {}", words, schema[key]))
    for key, words in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters")):
        if key in schema:
            out.append(escape(words.format(schema[key])))
    if "maxItems" in schema:
        out.append(escape(f"at most {schema['maxItems']} values"))
    items = schema.get("items") or {}
    if "maxLength" in items:
        out.append(escape(f"each at most {items['maxLength']} characters"))
    pattern = schema.get("pattern") or items.get("pattern")
    if pattern:
        out.append(format_html("matching <code>{}</code>", pattern))
    if "default" in schema and schema["default"] not in ("", None):
        default = str(schema["default"]).lower() if isinstance(schema["default"], bool) else schema["default"]
        out.append(format_html("default <code>{}</code>", default))
    return out


def operations(document: dict) -> list[dict]:
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = []
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                parameters.append(
                    {
                        "name": parameter["name"],
                        "location": parameter.get("in", ""),
                        "required": parameter.get("required", False),
                        "type": type_html(schema),
                        "description": inline(parameter.get("description") or schema.get("description")),
                        "constraints": constraints(schema),
                    }
                )
            responses = []
            for status, response in operation.get("responses", {}).items():
                bodies = [
                    {"media_type": media_type, "type": type_html(content.get("schema", {}))}
                    for media_type, content in response.get("content", {}).items()
                ]
                responses.append(
                    {
                        "status": status,
                        "description": inline(response.get("description")),
                        "bodies": bodies,
                        "headers": [
                            {"name": name, "description": inline(header.get("description"))}
                            for name, header in response.get("headers", {}).items()
                        ],
                    }
                )
            found.append(
                {
                    "id": operation.get("operationId") or f"{method}-{path}",
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": inline(operation.get("description")),
                    "parameters": parameters,
                    "responses": responses,
                    # A GET without path parameters can be followed as a plain link.
                    "example": path if method == "get" and "{" not in path else None,
                }
            )
    return found


def schemas(document: dict) -> list[dict]:
    found = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        fields = [
            {
                "name": field,
                "type": type_html(spec),
                "required": field in required,
                "description": inline(spec.get("description")),
                "constraints": constraints(spec),
            }
            for field, spec in schema.get("properties", {}).items()
        ]
        found.append(
            {
                "name": name,
                "anchor": schema_anchor(name),
                "description": inline(schema.get("description")),
                "fields": fields,
            }
        )
    return found


def context(document: dict, openapi_url: str) -> dict:
    info = document.get("info", {})
    return {
        "title": info.get("title", "API"),
        "version": info.get("version", ""),
        "api_description": inline(info.get("description")),
        "openapi_version": document.get("openapi", ""),
        "openapi_url": openapi_url,
        "operations": operations(document),
        "schemas": schemas(document),
    }


class Reference(DocsBase):
    """django-ninja's docs view, answered with the reference page instead of Swagger UI."""

    template = "articles/api_reference.html"

    @functools.lru_cache(maxsize=8)  # noqa: B019 (one instance, living as long as the process)
    def _reference(self, api, path_params: tuple) -> dict:
        # The document changes only with the code: built once per process, as openapi.json's
        # content is the same for every request.
        kwargs = dict(path_params)
        return context(api.get_openapi_schema(path_params=kwargs), self.get_openapi_url(api, kwargs))

    def render_page(self, request, api, **kwargs):
        page = dict(self._reference(api, tuple(sorted(kwargs.items()))))
        page.update(
            noindex=True,
            description=f"Reference for the {page['title']}: every operation, parameter, response and schema, "
            "generated from its OpenAPI document.",
            og_title=f"{page['title']} reference",
            home_url=reverse("articles:home"),
        )
        response = render(request, self.template, page)
        # Said in the page too (meta robots); the header also covers clients that never parse it.
        response["X-Robots-Tag"] = "noindex"
        return response
