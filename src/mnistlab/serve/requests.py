"""What a ``POST /predict`` body holds, read with bounded work: JSON pixels, a base64 image, a multipart form's
file, or the image bytes themselves.

Every parser here is bounded (parts, header bytes, validation errors reported) and runs in a worker thread, never
on the event loop: a crafted body costs its own request time, not the other requests'. Error responses stay
small (at most :data:`MAX_ERRORS` validation errors, never the input itself).
"""

from __future__ import annotations

import base64
import binascii
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


def input_of(content_type: str, body: bytes) -> tuple[np.ndarray | None, bytes | None]:
    """(28x28 pixels, None) for JSON pixels, or (None, image bytes) for everything that needs decoding; an
    ``HTTPException`` (or FastAPI's 422) for a body that is neither."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        try:
            request = PredictJSON.model_validate_json(body)
        except ValidationError as exc:
            # FastAPI's own 422 layout, first errors only; the input is left out (it can be the whole body)
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise RequestValidationError(errors[:MAX_ERRORS]) from None
        if request.pixels is not None:
            return np.asarray(request.pixels, np.uint8).reshape(28, 28), None
        return None, _base64_image(request.image or "")
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


def _base64_image(text: str) -> bytes:
    encoded = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, "'image' is not valid base64") from None


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
