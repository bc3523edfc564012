"""The web app: draw or upload a digit or a garment and see what a trained run predicts.

``create_app(run)`` loads the run once and returns a FastAPI app; ``mnistlab serve RUN`` runs it under uvicorn.
Endpoints: ``GET /`` (the drawing page), ``POST /predict``, ``GET /health``, ``GET /model``, and FastAPI's
OpenAPI docs at ``/docs``. Requests never name files or runs: the server reads only the run it started with and
its own page, and uploads stay in memory.

>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app("runs/cnn-mnist"))  # doctest: +SKIP
>>> client.post("/predict", content=open("seven.png", "rb").read(),
...             headers={"content-type": "image/png"}).json()["top"][0]  # doctest: +SKIP
{'class': '7', 'value': 0.998...}
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import importlib.resources
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import anyio
import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mnistlab.datasets.preprocess import load_for_prediction
from mnistlab.errors import DataFormatError, MnistlabError
from mnistlab.fileio import read_json
from mnistlab.serve.predict import Predictor, onnx_available

MAX_UPLOAD_BYTES = 2_000_000  # a phone photo as JPEG; the drawing canvas sends ~10 KB
MAX_UPLOAD_PIXELS = 16_000_000  # 4000x4000: decoded before it is reduced, so this bounds a request's memory
IMAGE_TYPES = {"image/png", "image/jpeg", "application/octet-stream"}
STATIC = ("app.js", "app.css")

Pixel = Annotated[int, Field(ge=0, le=255)]


class PredictJSON(BaseModel):
    """A JSON request: an MNIST-style image as 784 pixel values (row by row, 0 = background), used as given, or a
    PNG/JPEG as base64 (a ``data:`` URL is fine), preprocessed like an upload."""

    model_config = ConfigDict(extra="forbid")
    pixels: Annotated[list[Pixel], Field(min_length=784, max_length=784)] | None = None
    image: str | None = None

    @model_validator(mode="after")
    def one_input(self) -> PredictJSON:
        if (self.pixels is None) == (self.image is None):
            raise ValueError("give exactly one of 'pixels' (784 values 0..255) or 'image' (base64 PNG/JPEG)")
        return self


class ClassValue(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    class_name: str = Field(alias="class")
    value: float


class Prediction(BaseModel):
    """The best classes, best first; ``kind`` says whether values are probabilities or decision scores."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    top: list[ClassValue]
    kind: Literal["probability", "score"]
    model: str
    data: str
    image: list[list[int]] | None = Field(
        None, description="The 28x28 image the model saw (with image=true)."
    )


def create_app(
    run: str | Path, onnx: bool | None = None, trust: bool = False, max_upload_bytes: int = MAX_UPLOAD_BYTES
) -> FastAPI:
    """The app for one run, loaded now (a bad run fails here, not at the first request). ``onnx=None`` runs
    PyTorch models through ONNX Runtime when it is installed (measured faster at batch 1), ``True`` insists."""
    if max_upload_bytes < 1:
        raise MnistlabError(f"max_upload_bytes={max_upload_bytes}; expected a positive number of bytes")
    use_onnx = onnx_available(run) if onnx is None else onnx
    predictor = Predictor(run, use_onnx, trust)
    _limit_threads(predictor)
    info = _model_info(predictor)
    started = time.monotonic()
    # as many predictions at once as cores: more threads only queue on the GIL (see the README's load test)
    workers = anyio.CapacityLimiter(os.cpu_count() or 1)
    app = FastAPI(title="mnistlab", summary=f"{info['model']} on {info['data']}", version=info["version"])

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:  # a fixed list: a request can never name another file
            raise HTTPException(404, "Not Found")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{media}; charset=utf-8")

    @app.get("/health")
    def health() -> dict:
        """The server is up and its model loaded."""
        return {"status": "ok", "model": info["model"], "uptime_s": round(time.monotonic() - started, 1)}

    @app.get("/model")
    def model() -> dict:
        """The model: name, data set, class names, engine, and its test metrics when the run was evaluated."""
        return info

    @app.post(
        "/predict",
        response_model=Prediction,
        openapi_extra={"requestBody": _request_body_doc()},
        responses={
            400: {"description": "Not a readable image"},
            413: {"description": "Upload too large"},
            415: {"description": "Unsupported content type"},
        },
    )
    async def predict(
        request: Request,
        top: Annotated[int, Query(ge=1, description="How many classes (at most all of them).")] = 3,
        image: Annotated[bool, Query(description="Include the 28x28 image the model saw.")] = False,
    ) -> Prediction:
        """Top classes for a PNG/JPEG (the request body, or a multipart file) or a JSON request."""
        body = await _read_limited(request, max_upload_bytes)
        pixels, raw = _input_of(request.headers.get("content-type", ""), body)
        try:
            ranked, kind, seen = await anyio.to_thread.run_sync(
                _predict_one, predictor, pixels, raw, top, limiter=workers
            )
        except DataFormatError as exc:
            raise HTTPException(400, str(exc)) from None
        return Prediction(
            top=[ClassValue(class_name=c, value=v) for c, v in ranked],
            kind=kind,
            model=info["model"],
            data=info["data"],
            image=seen.tolist() if image else None,
        )

    return app


def _predict_one(predictor: Predictor, pixels: np.ndarray | None, raw: bytes | None, top: int):
    """Decoding, preprocessing and the model, in a worker thread so the event loop keeps answering."""
    seen = pixels if pixels is not None else load_for_prediction(raw, MAX_UPLOAD_PIXELS, "uploaded image")
    ranked, kind = predictor.top(seen[None], top)
    return ranked[0], kind, seen


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (never read whole first)."""
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


def _input_of(content_type: str, body: bytes) -> tuple[np.ndarray | None, bytes | None]:
    """(28x28 pixels, None) for JSON pixels, or (None, image bytes) for everything that needs decoding."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        try:
            request = PredictJSON.model_validate_json(body)
        except ValidationError as exc:
            # FastAPI's own 422 layout; the input is left out (it can be the whole body)
            raise RequestValidationError(
                exc.errors(include_url=False, include_context=False, include_input=False)
            ) from None
        if request.pixels is not None:
            return np.asarray(request.pixels, np.uint8).reshape(28, 28), None
        return None, _base64_image(request.image)
    if media == "multipart/form-data":
        return None, _multipart_file(content_type, body)
    if media in IMAGE_TYPES:
        if not body:
            raise HTTPException(400, "empty body; expected a PNG or JPEG image")
        return None, body
    raise HTTPException(
        415, f"content type {media or 'missing'!r}; send image/png, image/jpeg, multipart/form-data or JSON"
    )


def _base64_image(text: str) -> bytes:
    encoded = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, "'image' is not valid base64") from None


def _multipart_file(content_type: str, body: bytes) -> bytes:
    """The first file of a multipart form, parsed in memory (the body is already bounded)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise HTTPException(400, "malformed multipart form")
    for part in message.iter_parts():
        if part.get_filename() is not None:
            return part.get_payload(decode=True) or b""
    raise HTTPException(400, "the multipart form holds no file; send the image as a file field")


def _limit_threads(predictor: Predictor) -> None:
    """One thread per prediction: requests run side by side in the thread pool, and a 28x28 image gains nothing
    from more (measured: no faster with 2 threads than with 1; benchmarks/serve_load.py)."""
    if predictor.engine == "pytorch":
        import torch

        torch.set_num_threads(1)


def _model_info(predictor: Predictor) -> dict:
    from importlib.metadata import version

    from mnistlab.datasets.registry import REGISTRY

    config = predictor.config
    data = config.get("data", "?")
    metrics_file = predictor.run / "metrics.json"
    metrics = read_json(metrics_file, {}) if metrics_file.is_file() else {}
    report = metrics.get("evaluation", {}).get("report", {})
    shown = {
        "test_accuracy": metrics.get("test_accuracy"),
        "test_log_loss": metrics.get("test_loss"),
        "test_macro_f1": report.get("macro avg", {}).get("f1-score"),
        "test_size": metrics.get("n_test"),
    }
    return {
        "model": config["model"],
        "data": data,
        "classes": predictor.class_names,
        "engine": predictor.engine,
        "kind": REGISTRY[data].kind if data in REGISTRY else None,  # digits, objects, or unknown
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


def serve(
    run: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    onnx: bool | None = None,
    trust: bool = False,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Load the run, bind ``host:port`` (0 picks a free port) and serve until interrupted. ``ready`` is called
    with the address once the socket is bound (the command line prints it)."""
    import socket

    import uvicorn

    app = create_app(run, onnx, trust, max_upload_bytes)
    if not 0 <= port <= 65535:
        raise MnistlabError(f"port={port}; expected 0..65535")
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise MnistlabError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another `port` or `host`"
        ) from None
    bound = sock.getsockname()[1]
    if ready:
        ready(f"http://{f'[{host}]' if ':' in host else host}:{bound}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
