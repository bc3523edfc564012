"""Whether the server is up (``GET /health``) and what it serves (``GET /model``); both answer ``HEAD`` too."""

from __future__ import annotations

from fastapi import APIRouter

from mnistlab.serve.dependencies import ModelInfoDep, UptimeDep

router = APIRouter()


@router.get("/health")
@router.head("/health", include_in_schema=False)
def health(info: ModelInfoDep, uptime: UptimeDep) -> dict:
    """The server is up and its model loaded."""
    return {"status": "ok", "model": info["model"], "uptime_s": round(uptime, 1)}


@router.get("/model")
@router.head("/model", include_in_schema=False)
def model(info: ModelInfoDep) -> dict:
    """The model: name, data set, class names, engine, and its test metrics when the run was evaluated."""
    return info
