"""Turn an arbitrary photo or drawing of a digit or garment into an MNIST-style 28x28 image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from mnistlab.errors import DataFormatError


def mnist_style(image: Image.Image | np.ndarray, box: int = 20, size: int = 28) -> np.ndarray:
    """Grayscale, ink made light on dark (inverted when the background is light), cropped to the ink, fitted
    into ``box`` x ``box`` keeping the aspect ratio, and centred by centre of mass in ``size`` x ``size``.

    >>> import numpy as np
    >>> canvas = np.full((100, 60), 255, np.uint8); canvas[20:80, 25:35] = 0  # a dark bar on white
    >>> out = mnist_style(canvas)
    >>> out.shape, out.dtype, int(out[14, 14]) > 200, int(out[0, 0])
    ((28, 28), dtype('uint8'), True, 0)
    """
    gray = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image, dtype=np.float64)
    if gray.ndim != 2:
        raise DataFormatError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    if np.median(_border(gray)) > 127:  # light background: MNIST has light ink on black
        gray = 255 - gray
    gray = np.clip(gray - np.median(_border(gray)), 0, None)  # the background becomes exactly 0
    if gray.max() <= 0:
        return np.zeros((size, size), np.uint8)
    ink = gray > 0.2 * gray.max()
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    crop = crop * (255.0 / crop.max())
    scale = box / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    fitted = np.asarray(
        Image.fromarray(crop.astype(np.uint8)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    )
    canvas = np.zeros((size, size), np.float64)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = fitted
    cy, cx = ndimage.center_of_mass(canvas)
    shifted = ndimage.shift(canvas, (size / 2 - 0.5 - cy, size / 2 - 0.5 - cx), order=1, mode="constant")
    return np.clip(np.rint(shifted), 0, 255).astype(np.uint8)


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def load_for_prediction(
    source: str | Path | bytes, max_pixels: int | None = None, name: str | None = None
) -> np.ndarray:
    """Read a PNG/JPEG of any size, from a file or an upload's bytes (:func:`~mnistlab.datasets.images.decode_gray`,
    reduced to at most 1024 pixels a side while decoding), and convert it the MNIST way (see :func:`mnist_style`).
    The one preprocessing of ``mnistlab predict`` and the web app."""
    from mnistlab.datasets.images import MAX_IMAGE_PIXELS, decode_gray

    image = mnist_style(decode_gray(source, 1024, max_pixels or MAX_IMAGE_PIXELS, name))
    if not image.any():
        where = name or ("uploaded image" if isinstance(source, bytes) else source)
        raise DataFormatError(
            f"{where}: no ink found (the image is one flat shade); expected a drawn or "
            "photographed digit or garment"
        )
    return image
