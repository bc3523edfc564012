"""The one way an image file (or an upload's bytes) becomes a 2-D array of 8-bit grayscale pixels.

Every image that enters mnistlab passes here: image folders, ``mnistlab predict`` and the web app. What it
promises: the size is checked from the header before any pixel is decoded; only the named formats are decoded
(no other Pillow decoder ever runs on a user's bytes); the EXIF orientation is applied (a phone photo is read the
way it is shown); 16-bit images are scaled to 8 bits (not clipped) in bounded memory; transparency is laid on
white paper; colour becomes luminance.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnistlab.errors import DataFormatError
from mnistlab.fileio import open_regular

MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel photo; larger files are refused before decoding (memory)
# What each use decodes. Data folders also read BMP (some exports write it); uploads and predict read the two
# formats the documentation names, so a crafted TIFF, PSD or ICO never reaches a decoder from the network.
FOLDER_FORMATS = ("PNG", "JPEG", "BMP")
PHOTO_FORMATS = ("PNG", "JPEG")
_ROWS_PER_BLOCK = 256  # 16-bit to 8-bit conversion in blocks of rows: no int64 copy of a large image


def decode_gray(
    source: str | Path | bytes,
    max_side: int | None = None,
    max_pixels: int = MAX_IMAGE_PIXELS,
    name: str | None = None,
    formats: tuple[str, ...] = FOLDER_FORMATS,
    info: dict | None = None,
) -> np.ndarray:
    """Decode an image file, or the bytes of an upload, into 2-D uint8 grayscale (``info``, when given, receives
    the file's own ``size`` (width, height) and ``mode`` ("L", "RGB", ...) as stored).

    The size is read from the header and checked before any pixel is decoded (at most ``max_pixels``); only
    ``formats`` are decoded; the EXIF orientation tag is applied; 16-bit images are scaled to 8 bits (not
    clipped); transparent pixels are laid on white paper (ink drawn on a transparent canvas stays ink); colour
    becomes luminance. With ``max_side``, a larger image is reduced while decoding (JPEG) and after, which bounds
    the memory of prediction on photos. Errors name the file, or ``name`` for bytes.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(buffer, "PNG")  # 16-bit white
    >>> int(decode_gray(buffer.getvalue()).max())
    255
    """
    where = name or "uploaded image" if isinstance(source, bytes | bytearray | memoryview) else source
    try:
        with _opened(source, formats) as opened, Image.open(opened, formats=list(formats)) as img:
            width, height = img.size
            if info is not None:
                info.update(size=(width, height), mode=img.mode)
            if width * height > max_pixels:
                raise DataFormatError(
                    f"{where}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
                    f"mnistlab reads at most {max_pixels / 1e6:.0f} megapixels"
                )
            if max_side and img.format == "JPEG":
                img.draft(
                    "L", (max_side, max_side)
                )  # decode at 1/2, 1/4 or 1/8 scale: less memory, same look
            img.load()
            gray = _gray(ImageOps.exif_transpose(img))
    except DataFormatError:
        raise
    except Image.DecompressionBombError as exc:
        raise DataFormatError(f"{where}: refused as a decompression bomb ({exc})") from None
    except FileNotFoundError:
        raise DataFormatError(f"{where}: image file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{where}: is a folder, expected an image file") from None
    except UnidentifiedImageError:
        raise DataFormatError(f"{where}: not a readable image (expected {', '.join(formats)})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(f"{where}: not a readable image ({exc})") from None
    if max_side and max(gray.size) > max_side:
        gray.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.uint8)


def _opened(source: str | Path | bytes, formats: tuple[str, ...]):
    """A file object for the decoder: the bytes of an upload, or a regular file (a FIFO or a device is refused
    before it is read: :func:`~mnistlab.fileio.open_regular`)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return contextlib.nullcontext(io.BytesIO(source))
    return open_regular(source, f"an image file ({', '.join(formats)})")


def _gray(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode == "I":  # 16-bit (or 32-bit integer) grayscale
        return Image.fromarray(_eight_bits(img, sixteen_bit=img.mode.startswith("I;16")))
    if img.mode == "F":
        return Image.fromarray(np.asarray(img).clip(0, 255).round().astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, img.convert("RGBA")).convert("L")
    return img if img.mode == "L" else img.convert("L")


def _eight_bits(img: Image.Image, sixteen_bit: bool) -> np.ndarray:
    """Integer pixels as uint8: 16-bit ones scaled (65535 -> 255), others clipped to 0..255, read from the image
    a block of rows at a time (a 4000x4000 16-bit image costs its own 32 MB and 16 MB out, not copies of it)."""
    width, height = img.size
    blocks = [(top, min(top + _ROWS_PER_BLOCK, height)) for top in range(0, height, _ROWS_PER_BLOCK)]
    scale = sixteen_bit or any(np.asarray(img.crop((0, a, width, b))).max(initial=0) > 255 for a, b in blocks)
    out = np.empty((height, width), np.uint8)
    for top, bottom in blocks:
        block = np.asarray(img.crop((0, top, width, bottom))).astype(np.int64)
        if scale:
            block = (block.clip(0, 65535) + 128) // 257
        out[top:bottom] = block.clip(0, 255)
    return out
