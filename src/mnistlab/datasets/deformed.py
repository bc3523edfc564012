"""Deformed MNIST, a training set of any size up to 8.1 million images, in the manner of infiMNIST/MNIST8M
(Loosli, Canu and Bottou, 2007): MNIST's 60,000 training images first, untouched, then deformed copies of them in
turn, each an elastic distortion (Simard, Steinkraus and Platt, 2003: a random displacement field smoothed by a
Gaussian), a small affine move (rotation, scale, shear, translation) and, for some, thicker or thinner strokes.
The test split is MNIST's test split, untouched.

Deterministic: image ``i`` depends only on the seed and ``i``'s shard, so the same settings give the same bytes on
any machine, and a generation interrupted part-way continues after its last whole shard
(:mod:`mnistlab.datasets.shards`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mnistlab.datasets import registered
from mnistlab.datasets.shards import ShardWriter, write_split
from mnistlab.errors import ParameterError

log = logging.getLogger("mnistlab.data")
MAX_IMAGES = 8_100_000  # MNIST8M's size
SHARD_ROWS = 100_000  # 78 MB of images a shard
CHUNK = 10_000  # images deformed at once (bounded memory: ~30 MB of float32 fields)
# Simard et al. 2003 (alpha 34, sigma 4 on MNIST); the affine ranges are those of Ciresan et al. 2010, a little milder
ALPHA, SIGMA = 34.0, 4.0
ROTATE_DEGREES, SCALE, SHEAR, SHIFT = 8.0, 0.08, 0.15, 1.0
THICKER, THINNER = 0.15, 0.15  # shares of the images whose strokes get thicker or thinner


def deform(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each of ``images`` ((N, 28, 28) uint8) deformed once: thickness, elastic field, affine move.

    Examples
    --------
    >>> digit = np.zeros((1, 28, 28), np.uint8); digit[0, 6:22, 12:16] = 255  # a "1"
    >>> moved = deform(digit, np.random.default_rng(0))
    >>> moved.shape, moved.dtype, bool((moved != digit).any()), bool(0.5 < moved.sum() / digit.sum() < 2)
    ((1, 28, 28), dtype('uint8'), True, True)
    """
    from scipy import ndimage  # here: loading data sets must not pay for scipy

    n = len(images)
    x = images.astype(np.float32)
    stroke = rng.random(n)
    cross = ndimage.generate_binary_structure(2, 1)[None]
    for chosen, operation in (
        (stroke < THICKER, ndimage.grey_dilation),
        (stroke > 1 - THINNER, ndimage.grey_erosion),
    ):
        if chosen.any():  # half way to the dilated (eroded) image: a 28x28 stroke is 2-3 pixels wide
            x[chosen] = 0.5 * x[chosen] + 0.5 * operation(x[chosen], footprint=cross)
    fields = rng.uniform(-1, 1, (2, n, 28, 28)).astype(np.float32)
    dy, dx = (ALPHA * ndimage.gaussian_filter(f, sigma=(0, SIGMA, SIGMA), mode="constant") for f in fields)
    angle = np.deg2rad(rng.uniform(-ROTATE_DEGREES, ROTATE_DEGREES, n))
    scale_y, scale_x = (1 + rng.uniform(-SCALE, SCALE, (2, n))).astype(np.float32)
    shear = rng.uniform(-SHEAR, SHEAR, n)
    shift_y, shift_x = rng.uniform(-SHIFT, SHIFT, (2, n))
    cos, sin = np.cos(angle), np.sin(angle)
    # where each output pixel takes its value from (inverse map), about the image centre
    a = (cos / scale_y)[:, None, None], (-sin / scale_y + shear)[:, None, None]
    b = (sin / scale_x)[:, None, None], (cos / scale_x)[:, None, None]
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32) - 13.5
    source_y = a[0] * yy + a[1] * xx + 13.5 + shift_y[:, None, None] + dy
    source_x = b[0] * yy + b[1] * xx + 13.5 + shift_x[:, None, None] + dx
    which = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], source_y.shape)
    out = ndimage.map_coordinates(x, [which, source_y, source_x], order=1, mode="constant", cval=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _train_shards(
    train_images: np.ndarray, train_labels: np.ndarray, images: int, seed: int, first: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shards ``first``, ``first + 1``, ... of the training split (``images`` rows in all)."""
    for shard in range(first, -(-images // SHARD_ROWS)):
        rows = np.arange(shard * SHARD_ROWS, min(images, (shard + 1) * SHARD_ROWS))
        source = rows % len(train_images)
        out = train_images[source].copy()
        rng = np.random.default_rng([seed, shard])  # a shard's images depend on the seed and the shard only
        deformed = np.flatnonzero(rows >= len(train_images))
        for start in range(0, len(deformed), CHUNK):
            part = deformed[start : start + CHUNK]
            out[part] = deform(out[part], rng)
        yield out, train_labels[source]


def generate_deformed_mnist(out: str | Path, images: int = 1_000_000, seed: int = 0) -> Path:
    """Write deformed MNIST with ``images`` training images into the shard folder ``out`` (continuing an
    interrupted generation of the same settings), and MNIST's test split as its test split.

    Parameters
    ----------
    out : str or Path
        The shard folder (:mod:`mnistlab.datasets.shards`); read it with ``datasets.load(out)``.
    images : int
        Training images, 60,000 (MNIST's own) to 8,100,000 (MNIST8M's size).
    seed : int
        The deformations' seed.

    Returns
    -------
    Path
        ``out``.

    Examples
    --------
    >>> generate_deformed_mnist("deformed-1m", 1_000_000)  # doctest: +SKIP
    PosixPath('deformed-1m')
    """
    if (
        isinstance(images, bool)
        or not isinstance(images, int | np.integer)
        or not 60_000 <= images <= MAX_IMAGES
    ):
        raise ParameterError("images", images, f"a whole number from 60,000 to {MAX_IMAGES:,}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError("seed", seed, "a whole number >= 0")
    train = registered.load_registered("mnist", "train")
    test = registered.load_registered("mnist", "test")
    made_by = {
        "generator": "deformed-mnist",
        "version": 1,
        "images": int(images),
        "seed": int(seed),
        "shard_rows": SHARD_ROWS,
        "source": "mnist",
    }
    writer = ShardWriter(out, f"deformed-mnist-{images}", train.classes, made_by, kind=train.kind)
    start, done = time.perf_counter(), writer.done("train")
    if done:
        log.info("%s: continuing after %d shards already written", out, done)
    shards = _train_shards(train.images, train.labels, int(images), int(seed), done)
    for index, (shard_images, shard_labels) in enumerate(shards, start=done):
        writer.add("train", shard_images, shard_labels)
        log.info("shard %d written (%.0f s)", index, time.perf_counter() - start)
    writer.finish("train")
    if not writer.done("test"):
        write_split(writer, "test", [(test.images, test.labels)])
    return Path(out)
