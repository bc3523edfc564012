"""The review page: go through what ``mnistlab health`` found (suspected label errors, outliers, odd images) one
image at a time and keep, relabel or drop each, from the keyboard.

``create_review_app(data, findings, decisions)`` loads the data set's splits and the findings once and returns a
FastAPI app; ``mnistlab review DATA --findings F --decisions F`` runs it. Every decision is appended to the
decisions file the moment it is made (:mod:`mnistlab.datasets.fixes`): a closed browser loses nothing, and
reopening the page shows what was decided. ``mnistlab data fix`` then writes the cleaned copy. Endpoints:
``GET /`` (the page), ``GET /items`` (what to review, with the decision so far), ``GET /image/{item}.png``,
``POST /decide``. Requests never name files: the server reads only the data, the findings and the decisions file
it started with.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

import numpy as np
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mnistlab import datasets
from mnistlab.datasets.fixes import read_decisions, record_decision, start_decisions
from mnistlab.errors import DataFormatError
from mnistlab.fileio import open_regular
from mnistlab.serve.app import LOOPBACK_HOSTS, SecurityHeaders, _static

MAX_FINDINGS_BYTES = 64 << 20
IMAGE_SCALE = 8  # 28x28 shown as 224x224, pixels kept sharp


class Decide(BaseModel):
    """One decision from the page: the item's number in ``/items``, the action, the new class for a relabel."""

    model_config = ConfigDict(extra="forbid")
    item: int = Field(ge=0)
    action: Literal["keep", "relabel", "drop"]
    label: str | None = Field(default=None, max_length=200)
    reason: str = Field(default="", max_length=500)


def read_findings(path: str | Path, splits: dict[str, datasets.Dataset]) -> list[dict]:
    """The findings of a ``findings.csv`` about one image each (suspected label errors, outliers, odd images,
    unusual properties; not the pairs of duplicates, nor rows about a whole class), each checked against the
    splits: a split it does not have or an index outside it is an error naming the row."""
    path = Path(path)
    with open_regular(path, "findings.csv (mnistlab health --out)", MAX_FINDINGS_BYTES) as file:
        text = file.read().decode("utf-8", "replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not {"kind", "splits", "indices", "labels", "value"} <= set(rows[0]):
        raise DataFormatError(
            f"{path}: not a findings.csv (expected columns kind, splits, indices, labels, value)"
        )
    classes = next(iter(splits.values())).classes
    items = []
    for number, row in enumerate(rows, start=2):
        split, index = (row["splits"] or "").strip(), (row["indices"] or "").strip()
        if not index or " " in index:  # about a class, or a pair
            continue
        if split not in splits or not index.isdigit() or int(index) >= len(splits[split]):
            raise DataFormatError(
                f"{path}, row {number}: {split!r} image {index!r} is not in this data set "
                f"({', '.join(f'{k} {len(v)}' for k, v in splits.items())}); were the findings made for other data?"
            )
        given = classes[int(splits[split].labels[int(index)])]
        suggested = None
        if row["kind"] == "suspected label error" and "->" in row["labels"]:
            predicted = row["labels"].split("->")[1].strip()
            suggested = (
                classes[int(predicted)] if predicted.isdigit() and int(predicted) < len(classes) else None
            )
        items.append(
            {
                "item": len(items),
                "kind": row["kind"],
                "split": split,
                "index": int(index),
                "given": given,
                "suggested": suggested,
                "evidence": row["value"],
            }
        )
    return items


def create_review_app(
    data: str | Path,
    findings: str | Path,
    decisions: str | Path,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The review app for data set ``data`` (a registered name or files), the ``findings.csv`` of a health check
    of it, and the decisions file (created, or resumed when it is for the same data: anything else is refused).

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> app = create_review_app("mnist", "reports/health/findings.csv", "review.jsonl")  # doctest: +SKIP
    >>> TestClient(app, base_url="http://localhost").get("/items").json()[0]["kind"]  # doctest: +SKIP
    'suspected label error'
    """
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    splits = datasets.load_splits(data)
    items = read_findings(findings, splits)
    start_decisions(decisions, splits)
    classes = next(iter(splits.values())).classes
    app = FastAPI(title="mnistlab review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK_HOSTS))
    app.add_middleware(SecurityHeaders)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(_static("review.html"))

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in ("review.js", "app.css"):  # a fixed list: a request can never name another file
            raise HTTPException(404, "Not Found")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{media}; charset=utf-8")

    @app.get("/items")
    def listed() -> dict:
        """Everything to review, each with the decision recorded so far (the file is read again: another page
        on the same file may have decided meanwhile)."""
        decided, _ = read_decisions(decisions, splits)
        shown = []
        for item in items:
            decision = decided.get((item["split"], item["index"]))
            shown.append({**item, "decision": None if decision is None else _decision(decision)})
        return {"data": str(data), "classes": classes, "items": shown}

    @app.get("/image/{item}.png")
    def image(item: int) -> Response:
        found = _item(items, item)
        pixels = splits[found["split"]].images[found["index"]]
        return Response(_png(pixels), media_type="image/png")

    @app.post("/decide")
    def decide(body: Decide) -> dict:
        """Record one decision (appended to the decisions file before the answer is sent)."""
        found = _item(items, body.item)
        label = body.label if body.action == "relabel" else None
        try:
            decision = record_decision(
                decisions, found["split"], found["index"], body.action, label, body.reason
            )
        except DataFormatError as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:  # ParameterError: an unknown class
            raise HTTPException(400, str(exc)) from None
        return {"item": body.item, "decision": _decision(decision)}

    return app


def _item(items: list[dict], number: int) -> dict:
    if not 0 <= number < len(items):
        raise HTTPException(404, f"no item {number}; there are {len(items)}")
    return items[number]


def _decision(decision) -> dict:
    return {"action": decision.action, "label": decision.label, "reason": decision.reason}


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    big = np.kron(pixels, np.ones((IMAGE_SCALE, IMAGE_SCALE), dtype=np.uint8))
    out = io.BytesIO()
    Image.fromarray(255 - big).save(out, format="PNG")  # dark ink on white, as the galleries show it
    return out.getvalue()
