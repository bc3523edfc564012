"""``POST /predict``: the top classes of a drawn or uploaded image or of JSON pixels, with the conformal
prediction set, and with ``explain=true`` a map of which pixels drove the answer.

The body is read within the settings' limits (:func:`mnistlab.serve.web.read_limited`); parsing, decoding, the
model and the explanation run in a worker thread, a prediction in the limiters' prediction slots and a request
with an explanation in their explanation slots (:class:`mnistlab.serve.dependencies.Limiters`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from mnistlab.datasets import refuse_blank
from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.models import CAN_BE_EMPTY, DEFAULT_METHOD, empty_set_meaning
from mnistlab.serve.dependencies import LimitersDep, ModelInfoDep, PredictorDep, SettingsDep
from mnistlab.serve.predict import Predictor
from mnistlab.serve.requests import PredictJSON, input_of
from mnistlab.serve.web import read_limited, refuse_odd_query

MAX_UPLOAD_PIXELS = 16_000_000  # 4000x4000: decoded before it is reduced, so this bounds a request's memory
PREDICT_QUERY = ("top", "image", "alpha", "method", "explain")  # the query parameters of POST /predict
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


router = APIRouter()


@router.post(
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
    predictor: PredictorDep,
    info: ModelInfoDep,
    settings: SettingsDep,
    limiters: LimitersDep,
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
    body = await read_limited(request, settings.max_upload_bytes, settings.body_timeout_s)
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
            limiter=limiters.explanations if explain else limiters.predictions,
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
