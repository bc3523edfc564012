"""What a ``POST /predict`` body holds, read with bounded work: JSON pixels, a base64 image, a multipart form's
file, or the image bytes themselves.

Every parser here is bounded (parts, header bytes, validation errors reported) and runs in a worker thread, never
on the event loop: a crafted body costs its own request time, not the other requests'. Error responses stay
small (at most :data:`MAX_ERRORS` validation errors, never the input itself).

JSON is read by one strict rule (:func:`strict_json`, also the review page's): a key given twice, ``NaN`` or
``Infinity``, or a value of another JSON type than the field's is refused with a 422 naming the field, never
converted (``true``, ``"12"`` and ``12.0`` are not pixels; the last of two ``"pixels"`` is not silently taken).
Every malformed body is a 4xx with a message: nothing a client sends reaches the server's 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated

import numpy as np
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

IMAGE_TYPES = {"image/png", "image/jpeg", "application/octet-stream"}
MAX_PARTS = 8  # a form from the page has one file; a few more fields are tolerated, thousands are refused
MAX_PART_HEADER = 4096  # bytes of headers per part
MAX_ERRORS = 5  # validation errors reported per request (784 bad pixels would otherwise make a large answer)
_BOUNDARY = re.compile(
    r'boundary="?([0-9A-Za-z\'()+_,\-./:=? ]{1,70})"?', re.IGNORECASE
)  # RFC 2046 characters
_FILE_PART = re.compile(rb"^content-disposition:[^\r\n]*\bfilename\*?=", re.IGNORECASE | re.MULTILINE)

DATA_URL_TYPES = ("image/png", "image/jpeg")  # what a data: URL in 'image' may declare

Pixel = Annotated[int, Field(ge=0, le=255, strict=True)]
Pixels = Annotated[
    list[Pixel],
    Field(
        min_length=784,
        max_length=784,
        description="784 JSON integers 0..255, row by row, 0 = background; used as given",
    ),
]
Base64Image = Annotated[
    str, Field(description="A PNG or JPEG as standard base64, or as a data:image/png;base64,... URL")
]


class PredictJSON(BaseModel):
    """A JSON request: an MNIST-style image as 784 pixel values (row by row, 0 = background), used as given, or a
    PNG/JPEG as base64 (a ``data:image/png;base64,...`` URL is fine), preprocessed like an upload. Exactly one of
    the two, given once; pixels are JSON integers 0..255 (not booleans, strings or decimals), and an image of one
    flat shade is refused as no ink, as an upload is."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra=lambda schema: _never_null(schema)
    )
    pixels: Pixels | None = None
    image: Base64Image | None = None

    @model_validator(mode="before")
    @classmethod
    def one_field(cls, data: object) -> object:
        if isinstance(data, dict) and sum(name in data for name in ("pixels", "image")) != 1:
            raise ValueError(ONE_INPUT)
        return data

    @model_validator(mode="after")
    def one_input(self) -> PredictJSON:
        if (self.pixels is None) == (self.image is None):  # one given, but as null
            raise ValueError(ONE_INPUT)
        return self


def _never_null(schema: dict) -> None:
    """The API's schema as the rule reads requests: each field optional, but never null (None is "not given")."""
    for name, field in schema.get("properties", {}).items():
        field.pop("default", None)
        kinds = [kind for kind in field.pop("anyOf", []) if kind.get("type") != "null"]
        schema["properties"][name] = {**field, **(kinds[0] if len(kinds) == 1 else {"anyOf": kinds})}


ONE_INPUT = "give exactly one of 'pixels' (784 integers 0..255) or 'image' (base64 PNG/JPEG), not null"


class DuplicateKey(ValueError):
    """A JSON object names a key twice (which one counts is up to the parser: mnistlab takes neither)."""


def strict_json(body: bytes) -> object:
    """The JSON value of a request body by the one strict rule: standard JSON in UTF-8, no key twice in an object,
    no ``NaN`` / ``Infinity``; anything else is a 422 in FastAPI's layout (``json_invalid``), never a 500.

    Examples
    --------
    >>> strict_json(b'{"image": "AAAA"}')
    {'image': 'AAAA'}
    >>> strict_json(b'{"image": "AAAA", "image": "BBBB"}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fastapi.exceptions.RequestValidationError: ...
    """
    try:
        text = body.decode("utf-8")  # UTF-8 only (json.loads would guess UTF-16 and UTF-32 from bytes)
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except DuplicateKey as exc:
        message = f"the key {exc.args[0]!r} is given twice; give each field once"
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": message}]) from None
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, an int over 4300 digits, deep nesting
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"Invalid JSON: {_why(exc)}"}]
        ) from None


def _why(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 (byte {exc.start})"
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply"
    if "digits" in str(exc):
        return "a number with thousands of digits"
    return str(exc)[:200]


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        raise DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return found


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def validated(model: type[BaseModel], body: bytes) -> BaseModel:
    """``model`` from a JSON body by :func:`strict_json`'s rule (its fields' types exactly, no conversion); a
    422 with the first :data:`MAX_ERRORS` errors, without the input (it can be the whole body)."""
    try:
        return model.model_validate(strict_json(body), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(errors[:MAX_ERRORS]) from None


def input_of(content_type: str, body: bytes) -> tuple[np.ndarray | None, bytes | None]:
    """(28x28 pixels, None) for JSON pixels, or (None, image bytes) for everything that needs decoding; an
    ``HTTPException`` (or FastAPI's 422) for a body that is neither."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        request = validated(PredictJSON, body)
        assert isinstance(request, PredictJSON)
        if request.pixels is not None:
            return np.asarray(request.pixels, np.uint8).reshape(28, 28), None
        return None, base64_image(request.image or "")
    if media == "multipart/form-data":
        return None, multipart_file(content_type, body)
    if media in IMAGE_TYPES:
        if not body:
            raise HTTPException(400, "empty body; expected a PNG or JPEG image")
        return None, body
    raise HTTPException(
        415,
        f"content type {media[:80] or 'missing'!r}; send image/png, image/jpeg, multipart/form-data or JSON",
    )


def base64_image(text: str) -> bytes:
    """The bytes of a JSON request's ``image``: standard base64 (padded, no line breaks), or a data URL
    ``data:image/png;base64,...`` / ``data:image/jpeg;base64,...``; anything else is a 422 saying what was
    expected.

    Examples
    --------
    >>> base64_image("data:image/png;base64,iVBORw0K")[:4]
    b'\\x89PNG'
    >>> base64_image("data:image/png;base64")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fastapi.exceptions.HTTPException: 422: 'image' is a data URL without a comma before its data; ...
    """
    encoded = text
    if text[:5].lower() == "data:":
        header, comma, encoded = text[5:].partition(",")
        expected = "expected data:image/png;base64,<data>"
        if not comma:
            raise HTTPException(422, f"'image' is a data URL without a comma before its data; {expected}")
        media, *parameters = [part.strip().lower() for part in header.split(";")]
        if media not in DATA_URL_TYPES:
            raise HTTPException(
                422,
                f"'image' is a data URL of type {media[:40] or 'none'!r}; expected image/png or image/jpeg",
            )
        if parameters[-1:] != ["base64"]:
            raise HTTPException(422, f"'image' is a data URL that is not base64; {expected}")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            422, "'image' is not valid base64 (the standard alphabet, padded, without line breaks)"
        ) from None
    if not decoded:
        raise HTTPException(422, "'image' is empty; expected a PNG or JPEG image as base64")
    return decoded


def multipart_file(content_type: str, body: bytes) -> bytes:
    """The first file of a multipart form, in one linear pass over the (already size-bounded) body.

    Written here rather than with ``email`` (which built a message object per part: 30,000 empty parts took
    seconds) or ``python-multipart`` (a dependency for one field): at most :data:`MAX_PARTS` parts are looked
    at, each part's headers are at most :data:`MAX_PART_HEADER` bytes, nested forms are not descended into.

    Examples
    --------
    >>> body = b'--b\\r\\nContent-Disposition: form-data; name="file"; filename="7.png"\\r\\n\\r\\nPNG...\\r\\n--b--\\r\\n'
    >>> multipart_file("multipart/form-data; boundary=b", body)
    b'PNG...'
    """
    found = _BOUNDARY.search(content_type)
    if not found:
        raise HTTPException(400, "malformed multipart form: no boundary in the content type")
    delimiter = b"\r\n--" + found.group(1).strip().encode("latin-1")
    parts = (b"\r\n" + body).split(delimiter, MAX_PARTS + 1)  # maxsplit: the work stops at the limit
    if len(parts) > MAX_PARTS + 1 and not parts[-1].startswith(b"--"):
        raise HTTPException(400, f"multipart form with more than {MAX_PARTS} parts; send one file")
    for part in parts[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        end = part.find(b"\r\n\r\n", 0, MAX_PART_HEADER)
        if end < 0:
            raise HTTPException(400, "malformed multipart form: a part's headers are missing or too long")
        if _FILE_PART.search(part, 0, end):
            return part[end + 4 :]
    raise HTTPException(400, "the multipart form holds no file; send the image as a file field")
