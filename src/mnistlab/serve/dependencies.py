"""What the prediction app's routes are handed through FastAPI's ``Depends``: the run's predictor and its
description (put on ``app.state`` by :func:`mnistlab.serve.app.create_app`), the settings, the limiters and the
start time (by :func:`mnistlab.serve.app.predictor_app`, which it calls once the run is loaded).

A route never reaches for them any other way, so a test can hand the routes a stub predictor (no model trained)
with ``app.dependency_overrides``. They are ``async`` functions, run on the event loop: reading an attribute
needs no worker thread.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> from mnistlab.serve.app import predictor_app
>>> app = predictor_app()
>>> app.dependency_overrides[get_model_info] = lambda: {"model": "stub"}
>>> TestClient(app, base_url="http://localhost").get("/model").json()
{'model': 'stub'}
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from fastapi import Depends, Request

from mnistlab.errors import MnistlabError
from mnistlab.serve.predict import Predictor
from mnistlab.serve.web import BODY_TIMEOUT_S

MAX_UPLOAD_BYTES = 2_000_000  # a phone photo as JPEG; the drawing canvas sends ~10 KB
# Predictions at once: as many as cores (more threads only queue on the GIL; see the README's load test).
# Explanations (integrated gradients: dozens of forward and backward passes, tens of times a prediction) have a
# smaller share of their own, so that requests asking for them never hold the slots plain predictions need.
PREDICTION_SLOTS = os.cpu_count() or 1
EXPLANATION_SLOTS = max(1, PREDICTION_SLOTS // 2)


@dataclass(frozen=True)
class Settings:
    """The limits of a request to the prediction app: the largest body, and how long it may take to arrive."""

    max_upload_bytes: int = MAX_UPLOAD_BYTES
    body_timeout_s: float = BODY_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise MnistlabError(
                f"max_upload_bytes={self.max_upload_bytes}; expected a positive number of bytes"
            )


@dataclass(frozen=True)
class Limiters:
    """How many predictions and explanations run at once, in worker threads: a request with ``explain=true`` runs
    only in ``explanations``, so that explanations never hold the slots plain predictions need."""

    predictions: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(PREDICTION_SLOTS)
    )
    explanations: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(EXPLANATION_SLOTS)
    )


async def get_predictor(request: Request) -> Predictor:
    """The run loaded once (:class:`mnistlab.serve.predict.Predictor`)."""
    return _state(request, "predictor")


async def get_model_info(request: Request) -> dict:
    """What ``GET /model`` answers: the model, its data, classes, engine and test metrics (computed once)."""
    return _state(request, "model_info")


async def get_settings(request: Request) -> Settings:
    return _state(request, "settings")


async def get_limiters(request: Request) -> Limiters:
    return _state(request, "limiters")


async def get_uptime(request: Request) -> float:
    """Seconds since the app was made."""
    return time.monotonic() - _state(request, "started")


def _state(request: Request, name: str):
    try:
        return getattr(request.app.state, name)
    except AttributeError:  # predictor_app without create_app's model: a wiring mistake, never a client's
        raise RuntimeError(f"the app holds no {name}: made by predictor_app() without a model?") from None


PredictorDep = Annotated[Predictor, Depends(get_predictor)]
ModelInfoDep = Annotated[dict, Depends(get_model_info)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitersDep = Annotated[Limiters, Depends(get_limiters)]
UptimeDep = Annotated[float, Depends(get_uptime)]
