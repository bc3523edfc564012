"""The in-memory data set: one split of images, labels and class names, validated once at construction."""

from __future__ import annotations

import logging
import math
import unicodedata
import warnings
from dataclasses import dataclass, field

import numpy as np

from mnistlab.errors import DataFormatError, ParameterError

IMAGE_SHAPE = (28, 28)
# What the images show decides what a model may do with them: a mirrored shoe is a shoe, a mirrored 3 is not a 3.
# ``None`` means unknown (a user's file without metadata): recipes then stay with what is safe for digits.
KINDS = ("digits", "objects")
MAX_INFERRED_CLASSES = 10_000  # labels are class indices; a larger one is an id or a value, not a class
log = logging.getLogger("mnistlab.data")
PIXEL_FEATURES = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


MAX_CLASS_NAME = 200  # characters; a longer "name" is a sentence or data in the wrong column


def class_name(name) -> str:
    """A class name as mnistlab keeps and compares it: text in Unicode's composed form (NFC).

    The same name can be stored as different code points: ``"é"`` as one (U+00E9, NFC: Windows, Linux, most
    keyboards) or as ``e`` and a combining accent (U+0301, NFD: file names made on macOS). They look the same,
    so they are the same class wherever a name comes from (folders, manifests, CSV label columns, ``.npz``
    ``classes``, ``dataset.json``, ``datasets.toml``, ``classes=``).

    Examples
    --------
    >>> class_name("cafe\u0301") == class_name("caf\u00e9") == "caf\u00e9"
    True
    """
    return unicodedata.normalize("NFC", str(name))


def class_list(classes, parameter: str = "classes"):
    """``classes`` as given (a sequence of names, or None), refused when it is one text: ``"cat,dog"`` would
    otherwise be the classes 'c', 'a', 't', ','...

    Examples
    --------
    >>> class_list(("cat", "dog"))
    ['cat', 'dog']
    >>> class_list("cat,dog")
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: classes='cat,dog'; expected a list of class names in label order, not one text
    """
    if classes is None:
        return None
    if isinstance(classes, str | bytes):
        raise ParameterError(parameter, classes, "a list of class names in label order, not one text")
    return list(classes)


def check_class_names(names, where: str) -> list[str]:
    """Class names as strings in NFC (:func:`class_name`), refused unless each is a non-empty printable name of
    at most 200 characters and no two are the same or look the same.

    Control characters (which can clear a terminal, write to its clipboard or fake output) and invisible format
    characters (bidirectional overrides that show text in another order than it is, zero-width characters that
    make two names look alike) are refused where data is read, so no command ever prints them. Duplicate names
    would merge the rows of every per-class table; two names that are one in Unicode's compatibility form
    (NFKC: ``"Ａ"`` full-width and ``"A"``, ``"ﬁ"`` and ``"fi"``), or only in spaces (``"cat "``, a no-break
    space), look the same and are refused too.

    Examples
    --------
    >>> check_class_names(["T-shirt/top", "$5 bill"], "toy")
    ['T-shirt/top', '$5 bill']
    >>> check_class_names(["cat", "cat"], "toy")
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: toy: class name 'cat' is given twice (classes 0 and 1); class names must differ
    """
    given = [str(name) for name in names]
    names = [class_name(name) for name in given]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name.strip():
            raise DataFormatError(f"{where}: class {index} has an empty name")
        if len(name) > MAX_CLASS_NAME:
            raise DataFormatError(
                f"{where}: class {index}'s name has {len(name)} characters (at most {MAX_CLASS_NAME})"
            )
        hidden = next((c for c in name if unicodedata.category(c)[0] == "C"), None)
        if hidden is not None:
            raise DataFormatError(
                f"{where}: class {index}'s name {name!a} holds the control or invisible character "
                f"U+{ord(hidden):04X}; class names must be printable text"
            )
        look = " ".join(
            unicodedata.normalize("NFKC", name).split()
        )  # spaces (no-break, trailing) are invisible
        if look in seen:
            first = seen[look]
            if given[first] == given[index]:
                raise DataFormatError(
                    f"{where}: class name {name!r} is given twice (classes {first} and {index}); class names "
                    "must differ"
                )
            raise DataFormatError(
                f"{where}: class names {given[first]!a} and {given[index]!a} (classes {first} and {index}) look "
                "the same: they differ only in Unicode form (composed or decomposed accents, full-width or "
                "compatibility characters) or in spaces; use one spelling for one class"
            )
        seen[look] = index
    return names


def check_pixel_scale(X: np.ndarray, where: str = "X") -> None:
    """Refuse image rows that are not on the 0..255 pixel scale, the one scale every mnistlab model takes.

    The rule: uint8 is always fine; other numbers must lie in 0..255, and an array whose largest value is above
    0 but at most 1 is refused as the 0..1 scale (``X / 255``, the Keras habit), which would otherwise train or
    predict silently wrong (a 0..255 model reads such images as nearly blank). An all-zero array (blank images)
    is fine. Standardised pixels (negative values) are refused too: models scale pixels themselves.

    Examples
    --------
    >>> check_pixel_scale(np.array([[0.0, 128.5, 255.0]]))
    >>> check_pixel_scale(np.array([[0.0, 0.5, 1.0]]))
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: X: every pixel lies in 0..1 (largest 1): this looks like the 0..1 scale; mnistlab models take pixels on the 0..255 scale (pass X * 255)
    """
    X = np.asarray(X)
    if X.dtype == np.uint8 or X.size == 0 or not np.issubdtype(X.dtype, np.number):
        return  # the estimator's own checks name non-numeric input
    low, high = X.min(), X.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        return  # NaN and infinity: the estimator's own checks name them
    if low < 0 or high > 255:
        raise DataFormatError(
            f"{where}: pixels range over {low:g}..{high:g}; mnistlab models take raw pixels on the 0..255 "
            "scale (they scale inputs themselves; do not standardise them first)"
        )
    if 0 < high <= 1:
        raise DataFormatError(
            f"{where}: every pixel lies in 0..1 (largest {high:g}): this looks like the 0..1 scale; mnistlab "
            "models take pixels on the 0..255 scale (pass X * 255)"
        )


def index_class_names(labels: np.ndarray | None, source: str, line_offset: int = 1) -> list[str]:
    """Class names "0".."K-1" for integer labels read without names: the one rule of every reader (CSV, ``.npz``,
    IDX, an image folder's manifest).

    Labels are class indices, so the classes are 0..K-1 for the largest label K-1, and at least the ten digits
    (a file of the digits 0-4 still has ten classes). Labels that leave classes above 9 without any image are a
    typo, a sentinel or an id more often than a class list, and a model trained on them has an output per empty
    class:

    - when more classes would be empty than hold images (labels 0-9 and one 99), the labels are refused with the
      gap and the stray values named: give the class names to read them as they are;
    - when fewer would be (a test file missing a class or two), the classes are kept and a warning names the
      empty ones;
    - a label of :data:`MAX_INFERRED_CLASSES` or more is refused (it would allocate classes for an id).

    Examples
    --------
    >>> index_class_names(np.array([0, 2, 1]), "toy")[:3]
    ['0', '1', '2']
    >>> index_class_names(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]), "toy")
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: toy: labels take 11 distinct values in 0..99: classes 10..98 have no image (label 99 first on line 11); fix the stray labels, or name all 100 classes in label order (classes=NAMES) to read them as they are
    """
    if labels is None or labels.size == 0:
        return [str(i) for i in range(10)]
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"{source}: labels are {labels.dtype} of shape {labels.shape}; expected one integer class index per image"
        )
    if labels.min() < 0:
        row = int(np.flatnonzero(labels < 0)[0])
        raise DataFormatError(
            f"{source}: label {labels[row]} of line {row + line_offset} is negative; labels are class indices 0..K-1"
        )
    top = int(labels.max())
    row = int(np.argmax(labels))
    if top >= MAX_INFERRED_CLASSES:
        raise DataFormatError(
            f"{source}: label {top} of line {row + line_offset} is not a class index (expected "
            f"0..{MAX_INFERRED_CLASSES - 1}); pass the class names to read it"
        )
    n_classes = max(top + 1, 10)
    present = np.bincount(labels, minlength=n_classes) > 0
    empty = np.flatnonzero(~present[10:]) + 10  # classes above the digits with no image
    if top >= 10 and not present[0] and present[1 : top + 1].all():
        gap = f"class 0 has no image: labels 1..{top} look counted from 1 (subtract 1 from each)"
    elif empty.size:
        are = "class {} has" if empty.size == 1 else "classes {} have"
        gap = f"{are.format(describe_values(empty))} no image (label {top} first on line {row + line_offset})"
    else:
        return [str(i) for i in range(n_classes)]
    message = (
        f"{source}: labels take {int(present.sum())} distinct values in {int(labels.min())}..{top}: {gap}"
    )
    if (~present).sum() > present.sum():
        raise DataFormatError(
            f"{message}; fix the stray labels, or name all {n_classes} classes in label order (classes=NAMES) to "
            "read them as they are"
        )
    warnings.warn(
        f"{message}; the model gets an output per empty class (name the classes with classes=NAMES to keep them)",
        stacklevel=2,
    )
    return [str(i) for i in range(n_classes)]


def describe_values(values: np.ndarray, at_most: int = 8) -> str:
    """Sorted integers as runs: ``[3, 10, 11, 12]`` -> ``'3, 10..12'`` (the first ``at_most`` runs, then "...").

    Examples
    --------
    >>> describe_values(np.array([3, 10, 11, 12, 20]))
    '3, 10..12, 20'
    """
    values = np.unique(np.asarray(values))
    breaks = np.flatnonzero(np.diff(values) != 1) + 1
    runs = [
        f"{run[0]}" if len(run) == 1 else f"{run[0]}..{run[-1]}"
        for run in np.split(values, breaks)
        if len(run)
    ]
    return ", ".join(runs[:at_most]) + (", ..." if len(runs) > at_most else "")


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of an MNIST-shaped data set.

    Checked when made: the shapes agree, pixels are uint8 on the 0..255 scale, every label names a class, class
    names differ and hold no control characters.

    Parameters
    ----------
    images : ndarray of shape (N, 28, 28), uint8
        The pixels, 0 = paper, 255 = ink (MNIST's convention); for a shard folder, a
        :class:`~mnistlab.datasets.shards.ShardedImages` that reads them from disk where asked.
    labels : ndarray of shape (N,), int64, or None
        Class indices; ``None`` for an unlabelled test file such as Kaggle's ``test.csv``.
    classes : list of str
        The class names, indexed by label.
    name : str
        The data set's name (runs and reports show it).
    split : str
        ``"train"``, ``"test"`` or another split name.
    source : str
        Where the data came from (a registry name or a path).
    kind : {"digits", "objects"} or None
        What the classes are, which decides the training recipe (flips for objects only); ``None``: unknown.
    originals : dict, optional
        Image folders only: each file's own ``width``, ``height`` and ``colour`` before it became 28x28
        grayscale.

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset(np.zeros((2, 28, 28), np.uint8), np.array([0, 1]), ["zero", "one"], "toy", "train")
    >>> len(ds), ds.class_counts().tolist()
    (2, [1, 1])
    """

    images: np.ndarray
    labels: np.ndarray | None
    classes: list[str]
    name: str = "custom"
    split: str = "train"
    source: str = field(default="", compare=False)
    kind: str | None = None
    # image folders: each file's own width, height and colour (arrays), before it became 28x28 grayscale
    originals: dict | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise DataFormatError(
                f"{self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)} (or None)"
            )
        # images on disk (datasets.shards.ShardedImages) stay there: they have an array's shape and dtype
        images = self.images if getattr(self.images, "is_streamed", False) else np.asarray(self.images)
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DataFormatError(
                f"{self.name}/{self.split}: images must have shape (N, 28, 28), got {images.shape}"
            )
        if images.dtype != np.uint8:
            raise DataFormatError(f"{self.name}/{self.split}: images must be uint8, got {images.dtype}")
        object.__setattr__(self, "images", images)
        classes = class_list(self.classes)
        object.__setattr__(self, "classes", check_class_names(classes, self.source or self.name))
        if self.labels is None:
            return
        labels = np.asarray(self.labels)
        if labels.shape != (len(images),):
            raise DataFormatError(
                f"{self.name}/{self.split}: {len(images)} images but labels have shape {labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataFormatError(f"{self.name}/{self.split}: labels must be integers, got {labels.dtype}")
        labels = labels.astype(np.int64, copy=False)
        bad = np.flatnonzero((labels < 0) | (labels >= len(self.classes)))
        if bad.size:
            raise DataFormatError(
                f"{self.source or f'{self.name}/{self.split}'}: label {labels[bad[0]]} of row {bad[0] + 1} is "
                f"outside the {len(self.classes)} classes (expected 0..{len(self.classes) - 1})"
            )
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        labelled = "labelled" if self.labels is not None else "unlabelled"
        return f"Dataset({self.name!r}, split={self.split!r}, n={len(self)}, classes={len(self.classes)}, {labelled})"

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        """Number of images of each class, indexed by label."""
        if self.labels is None:
            raise DataFormatError(f"{self.name}/{self.split}: no labels to count")
        return np.bincount(self.labels, minlength=self.n_classes)

    def subset(self, indices: np.ndarray | slice, split: str | None = None) -> Dataset:
        """The images (and labels) at ``indices``, as a new data set sharing the class names."""
        labels = None if self.labels is None else self.labels[indices]
        originals = None if self.originals is None else {k: v[indices] for k, v in self.originals.items()}
        return Dataset(
            self.images[indices],
            labels,
            self.classes,
            self.name,
            split or self.split,
            self.source,
            self.kind,
            originals,
        )

    def flat(self) -> np.ndarray:
        """Images as an (N, 784) uint8 view, the layout scikit-learn models take."""
        return self.images.reshape(len(self), -1)

    def pixel_stats(self) -> tuple[float, float]:
        """Mean and standard deviation of all pixel values (0..255 scale)."""
        counts = pixel_histogram(self.images)
        values = np.arange(256, dtype=np.float64)
        mean = float(counts @ values / counts.sum())
        return mean, float(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))


def pixel_histogram(images: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """How many pixels take each value 0..255 (uint8 images), counted ``block`` pixels at a time.

    Statistics from this histogram are exact and need no copy of the pixels: ``np.bincount`` of all of them at
    once would first make an 8-byte integer of every pixel (376 MB for MNIST's 60,000 training images).

    Examples
    --------
    >>> pixel_histogram(np.array([[0, 0, 255]], np.uint8))[[0, 1, 255]].tolist()
    [2, 0, 1]
    """
    counts = np.zeros(256, np.int64)
    if getattr(images, "is_streamed", False):  # images on disk (a shard folder): shard by shard
        for part, _ in images.chunks(max(1, block // 784)):
            counts += pixel_histogram(part, block)
        return counts
    flat = np.asarray(images, np.uint8).reshape(-1)
    for start in range(0, flat.size, block):
        counts += np.bincount(flat[start : start + block], minlength=256)
    return counts


def train_val_split(
    dataset: Dataset, val_fraction: float = 0.2, seed: int = 0, parameter: str = "val_fraction"
) -> tuple[Dataset, Dataset]:
    """Stratified split of a labelled data set into training and validation parts.

    Parameters
    ----------
    dataset : Dataset
        A labelled split.
    val_fraction : float
        The share held out for validation, strictly between 0 and 1.
    seed : int
        Seed of the split: the same seed gives the same parts.
    parameter : str
        The name errors give the fraction (``test_fraction`` when the held-out part is test data).

    Returns
    -------
    tuple of (Dataset, Dataset)
        The training part and the validation part, each with its split name.

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset(np.zeros((10, 28, 28), np.uint8), np.arange(10) % 2, ["a", "b"])
    >>> train, val = train_val_split(ds, val_fraction=0.2, seed=0)
    >>> len(train), len(val), val.class_counts().tolist()
    (8, 2, [1, 1])
    """
    if dataset.labels is None:
        raise DataFormatError(f"{dataset.name}/{dataset.split}: cannot stratify a split without labels")
    from sklearn.model_selection import (
        train_test_split,
    )  # scikit-learn is slow to import; only split needs it

    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, int | float)
        or not 0 < val_fraction < 1
    ):
        raise ParameterError(parameter, val_fraction, "a number between 0 and 1, e.g. 0.2")
    check_stratified_split(dataset, val_fraction, parameter)
    train_idx, val_idx = train_test_split(
        np.arange(len(dataset)), test_size=val_fraction, random_state=seed, stratify=dataset.labels
    )
    return dataset.subset(np.sort(train_idx), "train"), dataset.subset(np.sort(val_idx), "validation")


def check_stratified_split(dataset: Dataset, fraction: float, parameter: str = "val_fraction") -> None:
    """Refuse, naming the data and ``parameter``, a stratified hold-out of ``fraction`` that cannot be made or
    would measure nothing: no images, images of one class only, a class with one image, or fewer held-out (or
    remaining) images than classes. scikit-learn would raise its own ``ValueError`` for most of these.

    Examples
    --------
    >>> ds = Dataset(np.zeros((10, 28, 28), np.uint8), np.arange(10) % 5, list("abcde"), "toy")
    >>> check_stratified_split(ds, 0.2, "test_fraction")
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: toy/train: test_fraction=0.2; expected 0.5 or more; it holds out 2 of 10 images, fewer than its 5 classes, and a stratified hold-out takes an image of each class
    """
    where = dataset.source or f"{dataset.name}/{dataset.split}"
    n = len(dataset)
    if n == 0:
        raise DataFormatError(f"{where}: no images, so nothing to hold out ({parameter}={fraction:g})")
    counts = dataset.class_counts()
    present = np.flatnonzero(counts)
    if len(present) == 1:
        raise DataFormatError(
            f"{where}: every image is of class {dataset.classes[present[0]]!r}; a classifier needs images of two "
            f"or more classes ({parameter}={fraction:g} would hold out images of that one class)"
        )
    single = np.flatnonzero(counts == 1)
    if single.size:
        raise DataFormatError(
            f"{where}: class {dataset.classes[single[0]]!r} has 1 image; a stratified {parameter}={fraction:g} "
            "hold-out needs at least 2 images of each class (add images of it, or leave it out)"
        )
    held_out = math.ceil(fraction * n)  # scikit-learn's rounding of a float test_size
    k = len(present)
    if held_out < k:
        raise ParameterError(
            parameter,
            fraction,
            f"{_at_least(k, n)} or more",
            owner=where,
            hint=f"it holds out {held_out} of {n} images, fewer than its {k} classes, and a stratified hold-out "
            "takes an image of each class",
        )
    if n - held_out < k:
        raise ParameterError(
            parameter,
            fraction,
            f"{_at_most(k, n)} or less",
            owner=where,
            hint=f"it leaves {n - held_out} of {n} images to train on, fewer than its {k} classes",
        )


def _at_least(k: int, n: int) -> str:
    """The smallest fraction (two significant digits, rounded up) that holds out ``k`` of ``n`` images."""
    return f"{math.ceil(k / n * 100) / 100:g}"


def _at_most(k: int, n: int) -> str:
    return f"{math.floor((n - k) / n * 100) / 100:g}"


def stratified_sample(labels: np.ndarray, n: int | str, seed: int = 0) -> np.ndarray:
    """Indices of a stratified, seeded sample of ``n`` images (``"all"``: every image), in their original order.

    Examples
    --------
    >>> stratified_sample(np.array([0, 0, 0, 1, 1, 1]), 4).tolist()
    [1, 2, 3, 5]
    """
    from sklearn.model_selection import train_test_split

    total = len(labels)
    if n == "all" or n == total:
        return np.arange(total)
    if not isinstance(n, int) or isinstance(n, bool) or not 3 <= n <= total:
        raise ParameterError("n", n, f"3..{total} images, or 'all'")
    chosen, _ = train_test_split(np.arange(total), train_size=n, random_state=seed, stratify=labels)
    return np.sort(chosen)
