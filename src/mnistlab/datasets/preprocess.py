"""How an image of any size becomes the 28x28 image a model sees: one rule, chosen by name, for every way in.

The rules (:data:`PREPROCESSING`):

- ``"none"``: the image must already be 28x28 (MNIST-style data); it is read as stored, anything else is refused.
- ``"mnist"``: the MNIST way, for photos and drawings (:func:`mnist_style`): inverted when the background is
  light, cropped to the ink, fitted into a 20x20 box, centred by centre of mass. Image folders use it when asked.
- ``"resize"``: a plain resize to 28x28 (for images that are already MNIST-like, only larger).

``mnistlab predict``, :class:`~mnistlab.serve.predict.Predictor` and the web app read each image for one model
(:func:`read_for_model`, :data:`PREDICT_RULES`): the rules above, or ``"auto"`` (the default), which reads a
28x28 image whose ink polarity matches the model's training data as stored (as ``evaluate`` reads that data)
and any other image (photos, drawings, another size or the other polarity) the MNIST way. Whatever the rule, the
model is handed images in its training polarity: the MNIST way makes light ink on a dark background, and for a
run trained on dark ink on light paper the result is inverted back. A run saved before runs recorded their
training data's ink (``config.json`` without ``ink``) has an unknown polarity: ``"auto"`` reads every image the
MNIST way and hands it over light on dark, as mnistlab always did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mnistlab.datasets.decode import MAX_IMAGE_PIXELS, PHOTO_FORMATS, decode_gray
from mnistlab.datasets.ink import DARK_ON_LIGHT, LIGHT_ON_DARK, image_polarities, in_polarity
from mnistlab.errors import DataFormatError, ParameterError

PREPROCESSING = {
    "none": "28x28 images only (others are refused)",
    "mnist": "the MNIST way, as predict does: ink light on dark, cropped, fitted to 20x20, centred by mass",
    "resize": "a plain resize to 28x28",
}
PREDICT_RULES = {
    "auto": "a 28x28 image of the training data's ink polarity read as stored, any other the MNIST way",
    **PREPROCESSING,
}
PHOTO_MAX_SIDE = 1024  # photos are reduced to this while decoding: bounded memory, the same 28x28 result


def mnist_style(image: Image.Image | np.ndarray, box: int = 20, size: int = 28) -> np.ndarray:
    """Grayscale, ink made light on dark (inverted when the background is light), cropped to the ink, fitted
    into ``box`` x ``box`` keeping the aspect ratio, and centred by centre of mass in ``size`` x ``size``.

    Examples
    --------
    >>> import numpy as np
    >>> canvas = np.full((100, 60), 255, np.uint8); canvas[20:80, 25:35] = 0  # a dark bar on white
    >>> out = mnist_style(canvas)
    >>> out.shape, out.dtype, int(out[14, 14]) > 200, int(out[0, 0])
    ((28, 28), dtype('uint8'), True, 0)
    """
    gray = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image, dtype=np.float64)
    if gray.ndim != 2:
        raise DataFormatError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    if not image_polarities(gray[None])[0]:  # light background: MNIST has light ink on black
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
    from scipy import ndimage  # here, not at import: listing data sets must not pay for scipy

    cy, cx = ndimage.center_of_mass(canvas)
    shifted = ndimage.shift(canvas, (size / 2 - 0.5 - cy, size / 2 - 0.5 - cx), order=1, mode="constant")
    return np.clip(np.rint(shifted), 0, 255).astype(np.uint8)


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def check_preprocess(preprocess: str, rules: dict[str, str] = PREPROCESSING) -> None:
    """Refuse an unknown rule name, listing the rules (``rules``: :data:`PREPROCESSING`, or
    :data:`PREDICT_RULES` for prediction)."""
    if preprocess not in rules:
        listed = "; ".join(f"{name!r}: {what}" for name, what in rules.items())
        raise ParameterError("preprocess", preprocess, f"one of {listed}")


def to_28x28(pixels: np.ndarray, preprocess: str, where: str) -> np.ndarray:
    """Apply the rule ``preprocess`` to one decoded 2-D uint8 image; ``where`` names it in errors.

    Examples
    --------
    >>> to_28x28(np.zeros((56, 56), np.uint8), "resize", "big.png").shape
    (28, 28)
    """
    check_preprocess(preprocess)
    if preprocess == "mnist":
        return mnist_style(pixels)
    if pixels.shape == (28, 28):
        return pixels
    if preprocess == "resize":
        return np.asarray(Image.fromarray(pixels).resize((28, 28), Image.Resampling.LANCZOS), np.uint8)
    raise DataFormatError(
        f"{where}: image is {pixels.shape[1]}x{pixels.shape[0]}, expected 28x28; to read other sizes choose "
        "a rule: preprocess='mnist' (photos and drawings, as predict reads them) or preprocess='resize' "
        "(a plain resize)"
    )


def read_for_model(
    source: str | Path | bytes,
    preprocess: str = "auto",
    polarity: str | None = None,
    trained_rule: str = "none",
    max_pixels: int | None = None,
    name: str | None = None,
) -> tuple[np.ndarray, str]:
    """Read a PNG/JPEG (a file or an upload's bytes) for a model: the 28x28 image it is handed, in its training
    polarity, and a few words saying how it was read.

    Parameters
    ----------
    source : str, Path or bytes
        The image file, or its bytes.
    preprocess : {"auto", "mnist", "none", "resize"}
        The rule (:data:`PREDICT_RULES`); ``"auto"``: a 28x28 image of the model's polarity read as stored, any
        other the MNIST way.
    polarity : {"light-on-dark", "dark-on-light"} or None
        The model's training polarity (the run's recorded ink profile); None for a run that recorded none:
        ``"auto"`` then reads the MNIST way, light on dark.
    trained_rule : str
        The rule the run's training images were read with; a run trained on images read the MNIST way is
        handed every image the MNIST way under ``"auto"``.
    max_pixels : int, optional
        The largest image decoded (the web app's bound).
    name : str, optional
        Names ``source`` in errors (for bytes).

    Returns
    -------
    tuple of (ndarray, str)
        The 28x28 uint8 image and how it was read (``"read as stored: 28x28"``, ``"read the MNIST way"``, ...).

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> dark = np.zeros((28, 28), np.uint8); dark[6:22, 12:16] = 255  # light ink on black, 28x28
    >>> Image.fromarray(dark).save(buffer, "PNG")
    >>> image, how = read_for_model(buffer.getvalue(), polarity="light-on-dark")
    >>> image.shape, how
    ((28, 28), 'read as stored: 28x28')
    """
    check_preprocess(preprocess, PREDICT_RULES)
    where = name or ("uploaded image" if isinstance(source, bytes) else str(source))
    pixels = decode_gray(source, PHOTO_MAX_SIDE, max_pixels or MAX_IMAGE_PIXELS, name, PHOTO_FORMATS)
    return for_model(pixels, preprocess, polarity, trained_rule, where)


def for_model(
    pixels: np.ndarray,
    preprocess: str,
    polarity: str | None,
    trained_rule: str = "none",
    where: str = "image",
) -> tuple[np.ndarray, str]:
    """One decoded 2-D uint8 image read by the rule ``preprocess`` for a model of ``polarity`` (see
    :func:`read_for_model`): the 28x28 image and how it was read.

    Examples
    --------
    >>> paper = np.full((28, 28), 255, np.uint8); paper[6:22, 12:16] = 0  # dark ink on white, 28x28
    >>> for_model(paper, "auto", "dark-on-light")[1]
    'read as stored: 28x28'
    >>> image, how = for_model(paper, "auto", "light-on-dark")  # the other polarity: the MNIST way
    >>> how, int(image[0, 0])
    ('read the MNIST way (inverted, cropped to the ink, fitted to 20x20, centred)', 0)
    """
    check_preprocess(preprocess, PREDICT_RULES)
    given = _polarity_of(pixels)  # the one test of a background: mnist_style inverts by the same one
    if preprocess == "auto":
        as_stored = (
            polarity is not None
            and trained_rule != "mnist"
            and pixels.shape == (28, 28)
            and given == polarity
        )
        preprocess = "none" if as_stored else "mnist"
    if preprocess != "mnist":
        refuse_blank(pixels, where)  # as the MNIST way refuses it below: one rule, whatever the path
        image = np.array(to_28x28(pixels, preprocess, where))  # a writable copy, as the MNIST way's
        stored = pixels.shape == (28, 28)
        return (
            image,
            "read as stored: 28x28" if stored else f"resized from {pixels.shape[1]}x{pixels.shape[0]}",
        )
    image = mnist_style(pixels)
    if not image.any():
        raise DataFormatError(f"{where}: {NO_INK}")
    handed = polarity or LIGHT_ON_DARK
    turned = "inverted, " if given != handed else ""
    return in_polarity(
        image, handed
    ), f"read the MNIST way ({turned}cropped to the ink, fitted to 20x20, centred)"


NO_INK = "no ink found (the image is one flat shade); expected a drawn or photographed digit or garment"


def refuse_blank(pixels: np.ndarray, where: str) -> None:
    """The one rule for an image to predict that holds no ink: every pixel the same shade (all 0, all 255, any
    other) is refused, whether it is read the MNIST way, as stored, or sent as pixels used as given (the web
    app's JSON): a blank image has no answer, and a model would give one anyway.

    Examples
    --------
    >>> refuse_blank(np.full((28, 28), 255, np.uint8), "the pixels")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mnistlab.errors.DataFormatError: the pixels: no ink found (the image is one flat shade); expected a drawn ...
    """
    if pixels.size and pixels.min() == pixels.max():
        raise DataFormatError(f"{where}: {NO_INK}")


def _polarity_of(pixels: np.ndarray) -> str:
    return LIGHT_ON_DARK if bool(image_polarities(pixels[None])[0]) else DARK_ON_LIGHT


def load_for_prediction(
    source: str | Path | bytes, max_pixels: int | None = None, name: str | None = None
) -> np.ndarray:
    """Read a PNG/JPEG of any size, from a file or an upload's bytes (:func:`~mnistlab.datasets.decode.decode_gray`,
    reduced to at most 1024 pixels a side while decoding), and convert it the MNIST way (see :func:`mnist_style`).
    The one preprocessing of ``mnistlab predict`` and the web app (the ``"mnist"`` rule)."""
    return read_for_model(source, "mnist", None, max_pixels=max_pixels, name=name)[0]
