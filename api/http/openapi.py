"""The API's reference: `GET /openapi.json` (OpenAPI 3.1) and `GET /docs`, the same document
as one self-contained HTML page.

FastAPI writes the document from the routes: their parameters, models, examples and
`responses`. This module adds what no single route says, because the app as a whole does it:

* the `Problem` schema (problems.py), which every problem answer of every route refers to;
* the answers any route may give: 408 and 413 (problems.BodyLimit) and 500
  (problems.install), and 422 as a problem wherever FastAPI would have documented its own
  validation error body, which this app never sends;
* the RFC 9421 signature (signed_requests.SECURITY_SCHEMES) of each route that depends on
  one: required with `signed_caller`, optional with `caller_or_public`.

/docs is rendered here, on the server, from that document: no script and nothing fetched from
elsewhere. FastAPI's own /docs (Swagger UI) and /redoc load their JavaScript and styles from
a CDN, which a trading centre's network, or CI, may not reach (docs/api.md)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterator

import fastapi.routing
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment

from .problems import problem_responses, problem_schemas
from .signed_requests import (
    SECURITY_SCHEMES, SIGNED, SIGNED_OR_PUBLIC, caller_or_public, signed_caller,
)

TAGS = [{"name": "actions", "description": "Writes: signed trading actions (evidence-format §6)"},
        {"name": "projects", "description": "Reads of projects, through the visibility table "
                                            "(docs/visibility.md): unsigned as the public, "
                                            "signed as the actor"},
        {"name": "signed requests", "description": "RFC 9421 signed requests "
                                                   "(docs/api-signing.md)"},
        {"name": "log", "description": "The Merkle log as C2SP tlog-tiles, bounded by its "
                                       "latest checkpoint (evidence-format §15)"},
        {"name": "witnesses", "description": "The witnesses this server sends checkpoints to"},
        {"name": "health", "description": "Whether the server and its store answer"}]
APP_WIDE = (408, 413, 500)  # statuses every route may answer, as problem+json
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")  # FastAPI's 422 body: never sent


def install(app: FastAPI, tags: list[dict[str, str]] = TAGS) -> None:
    """Serve the completed document at the app's openapi_url, and /docs."""
    app.openapi_tags = app.openapi_tags or tags
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    rendered: list[str] = []  # the page, made at its first request

    def docs() -> HTMLResponse:
        rendered[:] = rendered or [page(document(app))]
        return HTMLResponse(rendered[0])

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`, made once."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes, tags=app.openapi_tags, servers=app.servers,
                          openapi_version=app.openapi_version,
                          separate_input_output_schemas=app.separate_input_output_schemas)
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name in FASTAPI_VALIDATION:
            schemas.pop(name, None)
        schemas.update(problem_schemas())
        if "/v1/actions" in doc["paths"]:
            from .actions import body_schemas  # the bodies the action routes read themselves

            schemas.update(body_schemas())
        _keep_nulls(doc)
        for route, method in api_operations(app):
            operation = doc["paths"][route.path_format][method.lower()]
            complete(operation, route)
            if "security" in operation:
                components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
        app.openapi_schema = doc
    return app.openapi_schema


def _keep_nulls(doc: dict[str, Any]) -> None:
    """Put back the examples whose nulls FastAPI drops (it encodes the document without
    None): a bid's `expected_version` is null (evidence-format §6), and an example without
    it would not be a signed action."""
    from .actions import EXAMPLE_ACTION, EXAMPLE_SIGNED

    schemas = doc["components"]["schemas"]
    if "SignedActionBody" not in schemas:
        return  # an app without the actions (the witness's)
    schemas["ActionBody"]["examples"] = [copy.deepcopy(EXAMPLE_ACTION)]
    schemas["SignedActionBody"]["examples"] = [copy.deepcopy(EXAMPLE_SIGNED)]
    for path, example in (("/v1/actions", EXAMPLE_SIGNED), ("/v1/actions/batch", [EXAMPLE_SIGNED])):
        json_body = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        json_body["examples"]["signed"]["value"] = copy.deepcopy(example)


def api_operations(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    """(route, method) of each operation the document holds."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI ≥ 0.130
    for route in contexts(app.routes) if contexts else app.routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods):
                yield route, method


def complete(operation: dict[str, Any], route: APIRoute) -> None:
    """Add to one operation what the app does for every route."""
    responses = operation["responses"]
    fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if fastapi_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        responses["422"] = _responses(422)["422"]
    for status, response in _responses(*APP_WIDE).items():
        responses.setdefault(status, response)
    security = security_of(getattr(route, "original_route", route).dependant)
    if security:
        operation["security"] = security
        responses.setdefault("401", _responses(401)["401"])
    operation["responses"] = dict(sorted(responses.items()))


def _responses(*statuses: int) -> dict[str, Any]:
    return {str(status): response for status, response in problem_responses(*statuses).items()}


def security_of(dependant: Any) -> list[dict[str, list]] | None:
    """SIGNED if the route needs a signed request, SIGNED_OR_PUBLIC if it takes one, else
    None, by the dependencies it has (at any depth)."""
    calls, stack = set(), list(dependant.dependencies)
    while stack:
        sub = stack.pop()
        calls.add(sub.call)
        stack.extend(sub.dependencies)
    if signed_caller in calls:
        return copy.deepcopy(SIGNED)
    if caller_or_public in calls:
        return copy.deepcopy(SIGNED_OR_PUBLIC)
    return None


# --- /docs: the document as one HTML page -------------------------------------------------------

def page(doc: dict[str, Any]) -> str:
    """The document rendered as HTML: each operation with its parameters, body, answers and
    examples, then the schemas; everything escaped, nothing loaded from elsewhere."""
    schemas = doc["components"].get("schemas", {})
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            operations.append({
                "id": re.sub(r"[^A-Za-z0-9]+", "-", f"{method}{path}").strip("-"),
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": _paragraphs(op.get("description", "")),
                "security": [" and ".join(r) or "none (read as the public)"
                             for r in op.get("security", [])],
                "parameters": [{"name": p["name"], "in": p["in"],
                                "required": p.get("required", False),
                                "schema": _show(p.get("schema", {})),
                                "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "body": _media(op.get("requestBody", {}).get("content", {}), schemas),
                "responses": [{"status": status, "description": r.get("description", ""),
                               "headers": {name: h.get("description", "")
                                           for name, h in r.get("headers", {}).items()},
                               "media": _media(r.get("content", {}), schemas)}
                              for status, r in op["responses"].items()]})
    return _TEMPLATE.render(
        info=doc["info"], openapi=doc["openapi"], operations=operations,
        description=_paragraphs(doc["info"].get("description", "")),
        schemes={name: _show(scheme) for name, scheme
                 in doc["components"].get("securitySchemes", {}).items()},
        schemas={name: _show(s) for name, s in schemas.items()})


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _media(content: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """Each media type: its schema (by name when it is a component), and its examples or, if
    it has none, its schema's."""
    shown = []
    for media_type, media in content.items():
        schema = media.get("schema", {})
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        named = schemas.get(ref, schema)
        items = named.get("items", {})
        examples = ([media["example"]] if "example" in media else
                    [e.get("value") for e in media.get("examples", {}).values()]
                    or named.get("examples")
                    or [[e] for e in schemas.get(items.get("$ref", "").rsplit("/", 1)[-1],
                                                 items).get("examples", [])])
        shown.append({"type": media_type, "ref": ref, "schema": "" if ref else _show(schema),
                      "examples": [e if isinstance(e, str) else _show(e) for e in examples]})
    return shown


_TEMPLATE = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string("""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }} {{ info.version }}: the HTTP API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 76rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b }
code, pre { font: 13px/1.4 ui-monospace, monospace }
pre { background: #f4f4f4; padding: .5rem .7rem; overflow: auto; max-height: 28rem;
      white-space: pre-wrap }
section { border-top: 1px solid #bbb; margin-top: 2rem }
.method { font-weight: bold; margin-right: .5rem }
table { border-collapse: collapse; margin: .5rem 0 }
td, th { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top }
summary { cursor: pointer }
</style>
</head>
<body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
{% for p in description %}
<p>{{ p }}</p>
{% endfor %}
<p>This page is <a href="openapi.json">openapi.json</a> (OpenAPI {{ openapi }}) rendered by the
server itself: it needs nothing from elsewhere.</p>
<ul>
{% for op in operations %}
<li><a href="#{{ op.id }}"><code>{{ op.method }} {{ op.path }}</code></a>: {{ op.summary }}</li>
{% endfor %}
<li><a href="#security">Security schemes</a>, <a href="#schemas">schemas</a></li>
</ul>
{% macro media_list(media) %}
{% for m in media %}
<p>Media type <code>{{ m.type }}</code>, schema
{% if m.ref %}<a href="#schema-{{ m.ref }}"><code>{{ m.ref }}</code></a>{% endif %}</p>
{% if m.schema %}<details><summary>schema</summary><pre>{{ m.schema }}</pre></details>{% endif %}
{% for e in m.examples %}
<details open><summary>example</summary><pre>{{ e }}</pre></details>
{% endfor %}
{% endfor %}
{% endmacro %}
{% for op in operations %}
<section id="{{ op.id }}">
<h2><span class="method">{{ op.method }}</span><code>{{ op.path }}</code></h2>
<p><strong>{{ op.summary }}</strong></p>
{% for p in op.description %}
<p>{{ p }}</p>
{% endfor %}
{% if op.security %}
<p>Signed request (<a href="#security">RFC 9421</a>): {{ op.security | join(", or ") }}.</p>
{% endif %}
{% if op.parameters %}
<h3>Parameters</h3>
<table>
<tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>
{% for p in op.parameters %}
<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td><td>{{ "yes" if p.required else "no" }}</td>
<td><pre>{{ p.schema }}</pre></td><td>{{ p.description }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if op.body %}
<h3>Request body</h3>
{{ media_list(op.body) }}
{% endif %}
<h3>Answers</h3>
{% for r in op.responses %}
<h4>{{ r.status }}</h4>
<p>{{ r.description }}</p>
{% for name, description in r.headers.items() %}
<p>Field <code>{{ name }}</code>: {{ description }}</p>
{% endfor %}
{{ media_list(r.media) }}
{% endfor %}
</section>
{% endfor %}
<section id="security">
<h2>Security schemes</h2>
{% for name, scheme in schemes.items() %}
<h3>{{ name }}</h3>
<pre>{{ scheme }}</pre>
{% endfor %}
</section>
<section id="schemas">
<h2>Schemas</h2>
{% for name, schema in schemas.items() %}
<h3 id="schema-{{ name }}">{{ name }}</h3>
<pre>{{ schema }}</pre>
{% endfor %}
</section>
</body>
</html>
""")
