"""What both web apps (the drawing page's and the review page's) share: the hardened FastAPI app (security
headers, the Host check, no CDN-loaded documentation), bounded body reading, the strict query rule and the
static files.

The connection limits (header deadline, connection cap) are the server's (:mod:`mnistlab.serve.server`), the
strict JSON rule is :mod:`mnistlab.serve.requests`'; both apps get them the same way.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> app = hardened_app("demo")
>>> TestClient(app, base_url="http://localhost").get("/nowhere").headers["x-frame-options"]
'DENY'
"""

from __future__ import annotations

import importlib.resources

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
BODY_TIMEOUT_S = (
    30.0  # the whole body must arrive within this (a slow upload holds a connection, not forever)
)
# Sent with every response: the page and its script come from this server only (it works offline), no other
# site may frame it, and browsers never guess a type.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def hardened_app(title: str, allowed_hosts: list[str] | None = None, **options) -> FastAPI:
    """A FastAPI app with no route yet that answers only to ``allowed_hosts`` (by default the loopback names:
    DNS rebinding, a web page elsewhere cannot reach the server through a name of its own; ``["*"]`` allows
    any) and adds :data:`SECURITY_HEADERS` to every response, its own errors included. FastAPI's Swagger UI
    and ReDoc pages are off (they load from a CDN); ``options`` go to ``FastAPI``."""
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = FastAPI(title=title, docs_url=None, redoc_url=None, **options)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK_HOSTS))
    app.add_middleware(SecurityHeaders)  # added last, so outermost: the Host check's 400 carries them too
    return app


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response (plain ASGI: no per-request task,
    unlike a ``BaseHTTPMiddleware``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


async def read_limited(request: Request, limit: int, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (never read whole first), and with
    408 when it has not all arrived within ``timeout_s``."""
    try:
        with anyio.fail_after(timeout_s):
            return await _read_body(request, limit)
    except TimeoutError:
        raise HTTPException(408, f"the body did not arrive within {timeout_s:g} s") from None
    except ClientDisconnect:  # the client left, or its connection was shed (server.connection_to_shed)
        raise HTTPException(400, "the connection closed before the body arrived") from None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {int(declared)} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"upload over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def refuse_odd_query(request: Request, known: tuple[str, ...]) -> None:
    """The query by the rule of JSON bodies: a parameter given twice (which one counts?) or one the route does not
    know (a typo such as ``tpo=5`` would be ignored silently) is a 422 naming it."""
    names = [name for name, _ in request.query_params.multi_items()]
    for name in names:
        if name not in known:
            message = f"unknown query parameter {name[:40]!r}; expected {', '.join(known)}"
            raise RequestValidationError(
                [{"type": "extra_forbidden", "loc": ("query", name[:40]), "msg": message}]
            )
        if names.count(name) > 1:
            message = f"the query parameter {name!r} is given {names.count(name)} times; give it once"
            raise RequestValidationError([{"type": "query_repeated", "loc": ("query", name), "msg": message}])


def static_text(name: str) -> str:
    """A file of the apps' ``static/`` folder, by a name written in this package (never one a request gives)."""
    return importlib.resources.files("mnistlab.serve").joinpath("static", name).read_text("utf-8")


def static_file(name: str, served: tuple[str, ...]) -> Response:
    """The script or style ``name`` if it is one of ``served`` (a fixed list: a request can never name another
    file), else a 404."""
    if name not in served:
        raise HTTPException(404, "Not Found")
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return Response(static_text(name), media_type=f"{media}; charset=utf-8")
