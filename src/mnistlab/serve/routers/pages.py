"""The drawing page, its script and style, and the API's documentation as one page served from here (the app
needs no network): ``GET /``, ``GET /static/{name}``, ``GET /docs``; each answers ``HEAD`` too."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mnistlab.serve.web import static_file, static_text

STATIC = ("app.js", "app.css")

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(static_text("index.html"))


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    return static_file(name, STATIC)


@router.api_route("/docs", methods=["GET", "HEAD"], response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(api_page(request.app.openapi()))


def api_page(schema: dict) -> str:
    """The API's documentation as one self-contained page (no script, no CDN), from its OpenAPI schema.

    Examples
    --------
    >>> schema = {"info": {"title": "demo"}, "paths": {"/health": {"get": {"summary": "Up"}}}}
    >>> "<code>GET /health</code></td><td>Up" in api_page(schema)
    True
    """
    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            text = html.escape(operation.get("description") or operation.get("summary") or "")
            rows.append(f"<tr><td><code>{method.upper()} {html.escape(path)}</code></td><td>{text}</td></tr>")
    title = html.escape(f"{schema['info']['title']} {schema['info'].get('summary', '')}")
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}: API</title>"
        f"<link rel=stylesheet href=/static/app.css><main><h1>{title}: API</h1><table class=api>{''.join(rows)}</table>"
        "<p>The full schema: <a href=/openapi.json>/openapi.json</a>.</p></main></html>"
    )
