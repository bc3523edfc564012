"""The review page's routes: ``GET /`` (the page), ``GET /static/{name}``, ``GET /items`` (what to review, with
the decision so far), ``GET /image/{item}.png``, ``GET /examples/{class_index}.png`` (a strip of a class's
typical images), ``POST /decide``. Each reaches the loaded findings through ``Depends`` (:func:`get_review`)."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mnistlab.errors import DataFormatError, WriteError
from mnistlab.serve.requests import validated
from mnistlab.serve.review import ReviewSession, decision_fields
from mnistlab.serve.web import read_limited, static_file, static_text

STATIC = ("review.js", "app.css")
MAX_DECISION_BYTES = 16_384  # one decision as JSON: a reason of 500 characters is under 3 KB


class Decide(BaseModel):
    """One decision from the page: the item's number in ``/items``, the action, the new class for a relabel; read
    by the web app's strict JSON rule (:func:`mnistlab.serve.requests.strict_json`: no key twice, no conversion
    of types)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    item: int = Field(ge=0)
    action: Literal["keep", "relabel", "drop"]
    label: str | None = Field(default=None, max_length=200)
    reason: str = Field(default="", max_length=500)


async def get_review(request: Request) -> ReviewSession:
    """The findings, data and decisions file the app was made for (``app.state.review``)."""
    return request.app.state.review


ReviewDep = Annotated[ReviewSession, Depends(get_review)]

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(static_text("review.html"))


@router.get("/static/{name}")
def static(name: str) -> Response:
    return static_file(name, STATIC)


@router.get("/items")
def listed(review: ReviewDep) -> dict:
    """Everything to review, each with the decision recorded so far (the file is read again: another page on the
    same file may have decided meanwhile)."""
    return review.listing()


@router.get("/image/{item}.png")
def image(item: int, review: ReviewDep) -> Response:
    return Response(review.image_png(_item(review, item)), media_type="image/png")


@router.get("/examples/{class_index}.png")
def examples(class_index: int, review: ReviewDep) -> Response:
    """A strip of the class's typical images (:func:`mnistlab.serve.review.typical_examples`), made once."""
    classes = review.classes
    if not 0 <= class_index < len(classes):
        raise HTTPException(404, f"no class {class_index}; there are {len(classes)}")
    if not len(review.typical[class_index]):
        raise HTTPException(
            404, f"no {review.first} image of class {classes[class_index]!r} that nothing flagged"
        )
    return Response(review.examples_png(class_index), media_type="image/png")


@router.post("/decide")
async def decide(request: Request, review: ReviewDep) -> dict:
    """Record one decision (appended to the decisions file before the answer is sent)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise HTTPException(415, f"content type {media[:80] or 'missing'!r}; send application/json")
    body = validated(Decide, await read_limited(request, MAX_DECISION_BYTES))
    assert isinstance(body, Decide)
    return await anyio.to_thread.run_sync(_record, review, body)


def _record(review: ReviewSession, body: Decide) -> dict:
    """The decision written to the file, each way it can fail an HTTP error (in a worker thread)."""
    found = _item(review, body.item)
    label = body.label if body.action == "relabel" else None
    try:
        decision = review.decide(found, body.action, label, body.reason)
    except DataFormatError as exc:
        raise HTTPException(409, str(exc)) from None
    except WriteError as exc:  # a full disk: not saved (and nothing half-written), and the page says so
        raise HTTPException(507, str(exc)) from None
    except ValueError as exc:  # ParameterError: an unknown class
        raise HTTPException(400, str(exc)) from None
    return {"item": body.item, "decision": decision_fields(decision)}


def _item(review: ReviewSession, number: int) -> dict:
    if not 0 <= number < len(review.items):
        raise HTTPException(404, f"no item {number}; there are {len(review.items)}")
    return review.items[number]
