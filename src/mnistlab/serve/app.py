"""The web app: draw or upload a digit or a garment and see what a trained run predicts.

``create_app(run)`` loads the run once and returns a FastAPI app; ``mnistlab serve RUN`` runs it under uvicorn.
Endpoints: ``GET /`` (the drawing page), ``POST /predict``, ``GET /health``, ``GET /model``, the API described
at ``/docs`` (a page served from here: the app needs no network) and ``/openapi.json``; ``GET`` routes answer
``HEAD`` too. Requests never name files or runs: the server reads only the run it started with and its own page,
and uploads stay in memory. Limits: see :mod:`mnistlab.serve.server` and the README's "Safety and limits".

Examples
--------
>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app("runs/cnn-mnist"), base_url="http://localhost")  # doctest: +SKIP
>>> client.post("/predict", content=open("seven.png", "rb").read(),
...             headers={"content-type": "image/png"}).json()["top"][0]  # doctest: +SKIP
{'class': '7', 'value': 0.998...}
"""

from __future__ import annotations

import html
import importlib.resources
import os
import time
from pathlib import Path
from typing import Annotated, Literal

import anyio
import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect

from mnistlab.datasets import refuse_blank
from mnistlab.errors import DataFormatError, MnistlabError, ParameterError
from mnistlab.models import CAN_BE_EMPTY, DEFAULT_METHOD, empty_set_meaning
from mnistlab.runs import read_metrics
from mnistlab.serve.predict import Predictor, onnx_available
from mnistlab.serve.requests import PredictJSON, input_of

MAX_UPLOAD_BYTES = 2_000_000  # a phone photo as JPEG; the drawing canvas sends ~10 KB
MAX_UPLOAD_PIXELS = 16_000_000  # 4000x4000: decoded before it is reduced, so this bounds a request's memory
BODY_TIMEOUT_S = (
    30.0  # the whole body must arrive within this (a slow upload holds a connection, not forever)
)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
# Predictions at once: as many as cores (more threads only queue on the GIL; see the README's load test).
# Explanations (integrated gradients: dozens of forward and backward passes, tens of times a prediction) have a
# smaller share of their own, so that requests asking for them never hold the slots plain predictions need.
PREDICTION_SLOTS = os.cpu_count() or 1
EXPLANATION_SLOTS = max(1, PREDICTION_SLOTS // 2)
STATIC = ("app.js", "app.css")
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


PREDICT_QUERY = ("top", "image", "alpha", "method", "explain")  # the parameters of POST /predict
SetMethod = Literal["split-nonempty", "split", "class-conditional", "aps", "raps"]  # calibration.METHODS


class ClassValue(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    class_name: str = Field(alias="class")
    value: float


class Prediction(BaseModel):
    """The best classes, best first; ``kind`` says whether values are probabilities or decision scores."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    top: list[ClassValue]
    kind: Literal["probability", "score"]
    prediction_set: list[str] | None = Field(
        None,
        description="The conformal prediction set: the classes that together hold the true one with probability "
        ">= 1 - alpha (calibrated on the run's validation split); null where the run has no calibration.",
    )
    alpha: float | None = None
    method: str | None = Field(None, description="The conformal method of the set (null without a set).")
    empty_set_means: str | None = Field(
        None,
        description="What an empty set means, for a method that can give one (split, class-conditional); null "
        "for the methods whose sets are never empty.",
    )
    explanation: list[list[float]] | None = Field(
        None,
        description="With explain=true, for a network: integrated gradients of the image the model saw for its "
        "predicted class, -1..1 (positive raised that class's score).",
    )
    model: str
    data: str
    image: list[list[int]] | None = Field(
        None, description="The 28x28 image the model saw (with image=true), in the model's training polarity."
    )
    read_as: str = Field(
        description="How the input became that image: 'read the MNIST way (...)', 'read as stored: 28x28' (a "
        "28x28 image of the model's ink polarity) or 'used as given: 784 pixels' (JSON pixels)."
    )
    warning: str | None = Field(
        None,
        description="Set when the input, used as given, has the other ink polarity than the model's training "
        "data (its answer is then close to chance).",
    )


def create_app(
    run: str | Path,
    onnx: bool | None = None,
    trust: bool = False,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The app for one run, loaded now (a bad run fails here, not at the first request). ``onnx=None`` runs
    PyTorch models through ONNX Runtime when it is installed and measured faster than PyTorch at one image on this
    machine (:func:`mnistlab.serve.engine.choose_engine`), ``True`` insists, ``False`` keeps PyTorch.

    ``allowed_hosts``: the names the ``Host`` header may carry (DNS rebinding: a web page elsewhere cannot talk
    to this server through a name of its own); by default the loopback names, ``["*"]`` allows any.
    """
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    if max_upload_bytes < 1:
        raise MnistlabError(f"max_upload_bytes={max_upload_bytes}; expected a positive number of bytes")
    if onnx is None:  # the engine measured faster here at one image (timed once per machine and network)
        from mnistlab.serve.engine import choose_engine

        onnx = onnx_available(run) and choose_engine(run, trust)["engine"] == "onnxruntime"
    use_onnx = onnx
    predictor = Predictor(run, use_onnx, trust)
    _limit_threads(predictor)
    info = _model_info(predictor)
    started = time.monotonic()
    predictions = anyio.CapacityLimiter(PREDICTION_SLOTS)
    explanations = anyio.CapacityLimiter(EXPLANATION_SLOTS)  # a request with explain=true runs only here
    app = FastAPI(
        title="mnistlab",
        summary=f"{info['model']} on {info['data']}",
        version=info["version"],
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; /docs below is served from here
        redoc_url=None,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK_HOSTS))
    app.add_middleware(SecurityHeaders)

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @app.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:  # a fixed list: a request can never name another file
            raise HTTPException(404, "Not Found")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{media}; charset=utf-8")

    @app.api_route("/docs", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(api_page(app.openapi()))

    @app.get("/health")
    @app.head("/health", include_in_schema=False)
    def health() -> dict:
        """The server is up and its model loaded."""
        return {"status": "ok", "model": info["model"], "uptime_s": round(time.monotonic() - started, 1)}

    @app.get("/model")
    @app.head("/model", include_in_schema=False)
    def model() -> dict:
        """The model: name, data set, class names, engine, and its test metrics when the run was evaluated."""
        return info

    @app.post(
        "/predict",
        response_model=Prediction,
        openapi_extra={"requestBody": _request_body_doc()},
        responses={
            400: {"description": "Not a readable image, or an image with no ink (one flat shade)"},
            408: {"description": "The body did not arrive in time"},
            413: {"description": "Upload too large"},
            415: {"description": "Unsupported content type"},
            422: {"description": "JSON that is not the request's shape (see the request body's schema)"},
        },
    )
    async def predict(
        request: Request,
        top: Annotated[int, Query(ge=1, description="How many classes (at most all of them).")] = 3,
        image: Annotated[bool, Query(description="Include the 28x28 image the model saw.")] = False,
        alpha: Annotated[
            float, Query(gt=0, lt=1, description="Miscoverage of the prediction set (0.1: a 90% set).")
        ] = 0.1,
        method: Annotated[
            SetMethod,
            Query(
                description="The conformal method of the set: split-nonempty (never empty: the most probable "
                "class always in), split (LAC; may be empty), class-conditional (may be empty), aps, raps."
            ),
        ] = DEFAULT_METHOD,
        explain: Annotated[
            bool, Query(description="Include a map of which pixels drove the answer (networks only).")
        ] = False,
    ) -> Prediction:
        """Top classes for a PNG/JPEG (the request body, or a multipart file) or a JSON request: exactly one of
        'pixels' (784 JSON integers 0..255, used as given) or 'image' (standard base64, or a
        data:image/png;base64,... URL), no key twice, no conversion of types (422 otherwise). An image of one
        flat shade has no ink and no answer (400), whichever way it is sent."""
        refuse_odd_query(request, PREDICT_QUERY)
        body = await read_limited(request, max_upload_bytes)
        content_type = request.headers.get("content-type", "")
        try:  # parsing, decoding and the model: in a worker thread, so the event loop keeps answering
            ranked, kind, seen, held, heat, read_as, warning = await anyio.to_thread.run_sync(
                _predict_one,
                predictor,
                content_type,
                body,
                top,
                alpha,
                explain,
                method,
                limiter=explanations if explain else predictions,
            )
        except (DataFormatError, ParameterError) as exc:  # ParameterError: e.g. aps on a format-2 run
            raise HTTPException(400, str(exc)[:300]) from None
        return Prediction(
            top=[ClassValue(class_name=c, value=v) for c, v in ranked],
            kind=kind,
            model=info["model"],
            data=info["data"],
            image=seen.tolist() if image else None,
            prediction_set=held,
            alpha=alpha if held is not None else None,
            method=method if held is not None else None,
            empty_set_means=empty_set_meaning(alpha) if held is not None and method in CAN_BE_EMPTY else None,
            explanation=None if heat is None else np.round(heat, 4).tolist(),
            read_as=read_as,
            warning=warning,
        )

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


def api_page(schema: dict) -> str:
    """The API's documentation as one self-contained page (no script, no CDN), from its OpenAPI schema."""
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


def _predict_one(
    predictor: Predictor,
    content_type: str,
    body: bytes,
    top: int,
    alpha: float,
    explain: bool = False,
    method: str = DEFAULT_METHOD,
):
    """Parsing the body, decoding, preprocessing (uploads and drawings by the run's rule: a drawing is never
    28x28, so it is read the MNIST way; JSON pixels as given), the model and its explanation (in a worker
    thread)."""
    pixels, raw = input_of(content_type, body)
    if pixels is not None:
        refuse_blank(pixels, "the pixels")  # the rule of uploads (a blank canvas): no ink, no answer
        seen, read_as = pixels, "used as given: 784 pixels"
        warning = predictor.mismatch(pixels[None], "the pixels")
    else:
        (seen, read_as), warning = predictor.read(raw, "uploaded image", MAX_UPLOAD_PIXELS), None
    ranked, kind, sets = predictor.predict(seen[None], top, alpha, method)
    heat = predictor.explain(seen) if explain else None
    return ranked[0], kind, seen, None if sets is None else sets[0], heat, read_as, warning


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


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (never read whole first), and with
    408 when it has not all arrived within ``BODY_TIMEOUT_S``."""
    try:
        with anyio.fail_after(BODY_TIMEOUT_S):
            return await _read_body(request, limit)
    except TimeoutError:
        raise HTTPException(408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None
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


def _limit_threads(predictor: Predictor) -> None:
    """One thread per prediction: requests run side by side in the thread pool, and a 28x28 image gains nothing
    from more (measured: no faster with 2 threads than with 1; benchmarks/serve_load.py)."""
    if predictor.engine == "pytorch":
        import torch

        torch.set_num_threads(1)


def _model_info(predictor: Predictor) -> dict:
    from importlib.metadata import version

    from mnistlab.datasets import REGISTRY

    config = predictor.config
    data = config.get("data", "?")  # a registered name, or the path training was given (its last part shown)
    metrics = read_metrics(predictor.run)
    report = (metrics.get("evaluation") or {}).get("report", {})
    shown = {
        "test_accuracy": metrics.get("test_accuracy"),
        "test_log_loss": metrics.get("test_loss"),
        "test_macro_f1": report.get("macro avg", {}).get("f1-score"),
        "test_size": metrics.get("n_test"),
    }
    return {  # nothing here names a folder of the server's disk beyond the run's and the data's own names
        "model": config["model"],
        "run": predictor.run.resolve().name,
        "data": Path(data).name or data,
        "classes": predictor.class_names,
        "engine": predictor.engine,
        "kind": REGISTRY[data].kind if data in REGISTRY else None,  # digits, objects, or unknown
        "polarity": predictor.polarity,  # of the training images; None for a run that recorded no ink profile
        "preprocess": predictor.preprocess,
        "metrics": {k: v for k, v in shown.items() if v is not None},
        "version": version("mnistlab"),
    }


def _static(name: str) -> str:
    return importlib.resources.files("mnistlab.serve").joinpath("static", name).read_text("utf-8")


def _request_body_doc() -> dict:
    image = {"schema": {"type": "string", "format": "binary"}}
    return {
        "required": True,
        "content": {
            "image/png": image,
            "image/jpeg": image,
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": image["schema"]}}},
            "application/json": {"schema": PredictJSON.model_json_schema()},
        },
    }
