"""The web apps, wired from their routers: the drawing page's (draw or upload a digit or a garment and see what a
trained run predicts) and the review page's (go through what ``mnistlab health`` found).

``create_app(run)`` loads the run once and returns a FastAPI app; ``mnistlab serve RUN`` runs it under uvicorn.
Endpoints: ``GET /`` (the drawing page), ``POST /predict``, ``GET /health``, ``GET /model``, the API described
at ``/docs`` (a page served from here: the app needs no network) and ``/openapi.json``; ``GET`` routes answer
``HEAD`` too. Requests never name files or runs: the server reads only the run it started with and its own page,
and uploads stay in memory. Limits: see :mod:`mnistlab.serve.server` and the README's "Safety and limits".

The routes are in :mod:`mnistlab.serve.routers`, one router per concern; what they need (the predictor, the
model's description, the settings, the limiters) is put on ``app.state`` here and reached through ``Depends``
(:mod:`mnistlab.serve.dependencies`). What both apps share (security headers, the Host check, bounded bodies,
the strict JSON rule) is :mod:`mnistlab.serve.web` and :mod:`mnistlab.serve.requests`.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app("runs/cnn-mnist"), base_url="http://localhost")  # doctest: +SKIP
>>> client.post("/predict", content=open("seven.png", "rb").read(),
...             headers={"content-type": "image/png"}).json()["top"][0]  # doctest: +SKIP
{'class': '7', 'value': 0.998...}
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI

from mnistlab import runs
from mnistlab.serve.dependencies import MAX_UPLOAD_BYTES, Limiters, Settings
from mnistlab.serve.predict import Predictor, onnx_available
from mnistlab.serve.review import ReviewSession
from mnistlab.serve.routers import pages, prediction, status
from mnistlab.serve.routers import review as review_routes
from mnistlab.serve.web import hardened_app


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

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> app = create_app("runs/cnn-mnist", onnx=False, max_upload_bytes=500_000)  # doctest: +SKIP
    >>> TestClient(app, base_url="http://localhost").get("/model").json()["engine"]  # doctest: +SKIP
    'pytorch'
    """
    settings = Settings(max_upload_bytes=max_upload_bytes)
    predictor = load_served(run, onnx, trust)
    info = model_info(predictor)
    app = predictor_app(settings, allowed_hosts)
    app.summary = f"{info['model']} on {info['data']}"
    app.state.predictor, app.state.model_info = predictor, info
    return app


def predictor_app(settings: Settings | None = None, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The prediction app's routes, hardening, settings and limiters, without a model: :func:`create_app` puts
    the run's predictor in; a test hands the routes a stub through ``app.dependency_overrides``
    (:func:`~mnistlab.serve.dependencies.get_predictor`, :func:`~mnistlab.serve.dependencies.get_model_info`).

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from mnistlab.serve.dependencies import get_model_info
    >>> app = predictor_app()
    >>> sorted(app.openapi()["paths"])
    ['/health', '/model', '/predict']
    >>> app.dependency_overrides[get_model_info] = lambda: {"model": "stub"}
    >>> TestClient(app, base_url="http://localhost").get("/health").json()["model"]
    'stub'
    """
    from importlib.metadata import version

    app = hardened_app("mnistlab", allowed_hosts, version=version("mnistlab"))
    app.include_router(pages.router)
    app.include_router(status.router)
    app.include_router(prediction.router)
    app.state.settings, app.state.limiters = settings or Settings(), Limiters()
    app.state.started = time.monotonic()
    return app


def create_review_app(
    data: str | Path,
    findings: str | Path,
    decisions: str | Path,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The review app for data set ``data`` (a registered name or files), the ``findings.csv`` of a health check
    of it, and the decisions file (created, or resumed when it is for the same data: anything else is refused);
    see :mod:`mnistlab.serve.review`.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> app = create_review_app("mnist", "reports/health/findings.csv", "review.jsonl")  # doctest: +SKIP
    >>> TestClient(app, base_url="http://localhost").get("/items").json()[0]["kind"]  # doctest: +SKIP
    'suspected label error'
    """
    session = ReviewSession.open(data, findings, decisions)
    app = hardened_app("mnistlab review", allowed_hosts, openapi_url=None)
    app.include_router(review_routes.router)
    app.state.review = session
    return app


def load_served(run: str | Path, onnx: bool | None = None, trust: bool = False) -> Predictor:
    """The run's predictor on the engine the app serves it with (:func:`create_app`'s ``onnx``), PyTorch on one
    thread per prediction."""
    if onnx is None:  # the engine measured faster here at one image (timed once per machine and network)
        from mnistlab.serve.engine import choose_engine

        onnx = onnx_available(run) and choose_engine(run, trust)["engine"] == "onnxruntime"
    predictor = Predictor(run, onnx, trust)
    _limit_threads(predictor)
    return predictor


def _limit_threads(predictor: Predictor) -> None:
    """One thread per prediction: requests run side by side in the thread pool, and a 28x28 image gains nothing
    from more (measured: no faster with 2 threads than with 1; benchmarks/serve_load.py)."""
    if predictor.engine == "pytorch":
        import torch

        torch.set_num_threads(1)


def model_info(predictor: Predictor) -> dict:
    """What ``GET /model`` answers about the run: model, run folder name, data set name, classes, engine, ink
    polarity, preprocessing rule, test metrics when evaluated, mnistlab's version."""
    from importlib.metadata import version

    from mnistlab.datasets import REGISTRY

    config = predictor.config
    data = config.get("data", "?")  # a registered name, or the path training was given (its last part shown)
    metrics = runs.read_metrics(predictor.run)
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
