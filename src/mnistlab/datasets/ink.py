"""Ink polarity and ink statistics of a set of 28x28 images: what a run records about its training data, what
``data info`` shows, and what ``predict``, ``evaluate`` on other data and the web app compare against.

MNIST and Fashion-MNIST have light ink on a dark (0) background. A user's own scans are often the reverse: dark
ink on white paper. A model trained on one polarity scores near chance on the other, so the polarity is measured
(the median of each image's border pixels) and compared, never assumed.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from mnistlab.datasets.dataset import pixel_histogram

if TYPE_CHECKING:
    from mnistlab.datasets.dataset import Dataset

LIGHT_ON_DARK = "light-on-dark"  # MNIST's: white ink on black paper
DARK_ON_LIGHT = "dark-on-light"  # a scan of a page: black ink on white paper
POLARITIES = (LIGHT_ON_DARK, DARK_ON_LIGHT)
MAX_SAMPLE = 10_000  # images measured at most (evenly spaced): the statistics settle long before


@dataclass(frozen=True)
class InkProfile:
    """How a set of images is inked: polarity, background level, and how much of each image is ink.

    Attributes
    ----------
    polarity : str
        ``"light-on-dark"`` (MNIST's) or ``"dark-on-light"``: the polarity most images have.
    dark_background_fraction : float
        The fraction of images whose border is darker than mid-grey.
    background : float
        The median border pixel value (0..255).
    ink_fraction : float
        The mean fraction of pixels that differ from the background by more than 64 levels.
    mean_pixel : float
        The mean pixel value (0..255).
    n_images : int
        How many images were measured.
    """

    polarity: str
    dark_background_fraction: float
    background: float
    ink_fraction: float
    mean_pixel: float
    n_images: int

    def to_dict(self) -> dict:
        """The profile as JSON-ready values (what a run's ``config.json`` stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> InkProfile:
        """The profile back from :meth:`to_dict`'s values."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})

    def describe(self) -> str:
        """One line for a person: polarity, background and ink amount.

        Examples
        --------
        >>> profile = ink_profile(np.zeros((4, 28, 28), np.uint8))
        >>> profile.describe()
        'light-on-dark (light ink on a dark background, as MNIST): background 0, ink 0.0% of pixels'
        """
        words = (
            "light ink on a dark background, as MNIST"
            if self.polarity == LIGHT_ON_DARK
            else ("dark ink on a light background, the reverse of MNIST")
        )
        return (
            f"{self.polarity} ({words}): background {self.background:.0f}, ink {100 * self.ink_fraction:.1f}% "
            "of pixels"
        )


def image_polarities(images: np.ndarray) -> np.ndarray:
    """Per image (N, 28, 28 uint8), True where the background (median border pixel) is dark (< 128).

    Examples
    --------
    >>> paper = np.full((2, 28, 28), 255, np.uint8); paper[0] = 0
    >>> image_polarities(paper).tolist()
    [True, False]
    """
    return np.median(_borders(np.asarray(images)), axis=1) < 128


def ink_profile(images: np.ndarray) -> InkProfile:
    """Measure the ink of ``images`` (N, 28, 28 uint8; at most 10,000 evenly spaced images are read).

    Examples
    --------
    >>> digits = np.zeros((10, 28, 28), np.uint8); digits[:, 8:20, 12:16] = 255
    >>> p = ink_profile(digits)
    >>> p.polarity, round(p.ink_fraction, 3)
    ('light-on-dark', 0.061)
    >>> ink_profile(255 - digits).polarity
    'dark-on-light'
    """
    if getattr(images, "is_streamed", False) and len(images):  # on disk: read only the sample's rows
        images = images[np.linspace(0, len(images) - 1, min(len(images), MAX_SAMPLE)).astype(np.int64)]
    images = np.asarray(images)
    if len(images) == 0:
        return InkProfile(LIGHT_ON_DARK, 1.0, 0.0, 0.0, 0.0, 0)
    if len(images) > MAX_SAMPLE:
        images = images[np.linspace(0, len(images) - 1, MAX_SAMPLE).astype(np.int64)]
    borders = _borders(images)
    dark = float(np.mean(np.median(borders, axis=1) < 128))
    background = float(np.median(borders))
    polarity = LIGHT_ON_DARK if dark >= 0.5 else DARK_ON_LIGHT
    if images.dtype != np.uint8:  # pixels given as numbers (a JSON request): few images, read as they are
        flat = images.reshape(len(images), -1).astype(np.float64)
        ink = float(np.mean(np.abs(flat - background) > 64))
        return InkProfile(polarity, dark, background, ink, float(flat.mean()), len(images))
    # From the histogram of the pixels: exact, and no per-pixel copy (a float copy of 10,000 images is 63 MB).
    counts = pixel_histogram(images)
    values = np.arange(256)
    ink = float(counts[np.abs(values - background) > 64].sum() / counts.sum())
    return InkProfile(polarity, dark, background, ink, float(counts @ values / counts.sum()), len(images))


def polarity_mismatch(expected: InkProfile, given: InkProfile, given_name: str = "the images") -> str | None:
    """A sentence saying how ``given`` differs in polarity from ``expected`` (a model's training data), or None.

    Examples
    --------
    >>> mnist = InkProfile(LIGHT_ON_DARK, 1.0, 0.0, 0.19, 33.0, 100)
    >>> paper = InkProfile(DARK_ON_LIGHT, 0.0, 255.0, 0.19, 222.0, 5)
    >>> polarity_mismatch(mnist, mnist) is None
    True
    >>> print(polarity_mismatch(mnist, paper, "scans/"))  # doctest: +ELLIPSIS
    scans/ are dark-on-light (... but the model was trained on light-on-dark (light ink on a dark background...
    """
    if expected.polarity == given.polarity:
        return None
    return (
        f"{given_name} are {given.describe()}, but the model was trained on {expected.describe()}: its "
        "predictions on them are close to chance"
    )


def recorded_profile(config: dict) -> InkProfile | None:
    """The ink profile a run recorded of its training data (``config["ink"]``), or None for a run saved before
    runs recorded it (its polarity is unknown: nothing is compared, and predict reads images the MNIST way).

    Examples
    --------
    >>> recorded_profile({"ink": ink_profile(np.zeros((2, 28, 28), np.uint8)).to_dict()}).polarity
    'light-on-dark'
    >>> recorded_profile({}) is None
    True
    """
    values = config.get("ink")
    return None if values is None else InkProfile.from_dict(values)


def in_polarity(image: np.ndarray, polarity: str) -> np.ndarray:
    """A light-on-dark image (what the MNIST way makes) in ``polarity``: inverted for dark-on-light.

    Examples
    --------
    >>> in_polarity(np.array([[0, 255]], np.uint8), DARK_ON_LIGHT).tolist()
    [[255, 0]]
    """
    return 255 - image if polarity == DARK_ON_LIGHT else image


def match_polarity(config: dict, data: Dataset, preprocess: str = "none", name: str | None = None) -> Dataset:
    """``data`` (images to score with a run whose ``config.json`` is ``config``) in the run's training polarity.

    Images read the MNIST way (``preprocess="mnist"``: light on dark) are inverted when the run was trained on
    dark-on-light images, as ``predict`` does. Images read as stored (``"none"``, ``"resize"``) are never
    changed: when their polarity differs from the training data's, a warning names the difference and the fix
    (a model scores near chance on the other polarity). A run that recorded no profile is not checked.

    Examples
    --------
    >>> from mnistlab.datasets.dataset import Dataset
    >>> paper = np.full((4, 28, 28), 255, np.uint8); paper[:, 8:20, 12:16] = 0
    >>> config = {"ink": ink_profile(paper).to_dict()}
    >>> scans = Dataset(255 - paper, np.array([0, 1, 0, 1]), ["a", "b"])  # light on dark, read the MNIST way
    >>> int(match_polarity(config, scans, "mnist").images[0, 0, 0])
    255
    """
    expected = recorded_profile(config)
    if expected is None or len(data) == 0:
        return data
    if preprocess == "mnist":  # made light on dark by the rule itself
        return replace(data, images=in_polarity(data.images, expected.polarity))
    warn_if_mismatched(expected, data.images, name or data.source or data.name or "the images", stacklevel=3)
    return data


def warn_if_mismatched(
    expected: InkProfile | None, images: np.ndarray, name: str, fix: str | None = None, stacklevel: int = 2
) -> str | None:
    """Warn when ``images`` (N, 28, 28), read as stored, are of the other polarity than ``expected`` (a run's
    training data; None: unknown, nothing compared); the warning names the difference and ``fix`` (by default:
    invert them, or train on their polarity). Returns the warning's text, or None.

    Examples
    --------
    >>> import warnings
    >>> mnist = ink_profile(np.zeros((2, 28, 28), np.uint8))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     text = warn_if_mismatched(mnist, np.full((2, 28, 28), 255, np.uint8), "scans/")
    >>> text.startswith("scans/ are dark-on-light"), len(caught)
    (True, 1)
    """
    if expected is None or len(images) == 0:
        return None
    given = ink_profile(images)
    message = polarity_mismatch(expected, given, name)
    if message is None:
        return None
    text = f"{message}; {fix or fix_for(given.polarity)}"
    warnings.warn(text, stacklevel=stacklevel)
    return text


def fix_for(given: str) -> str:
    """What a user can do about images of polarity ``given`` that a model of the other polarity is to score."""
    return (
        f"invert them (255 - pixel) to match the model, read an image folder of photos with "
        f"preprocess='mnist' (the model then gets its own polarity), or train a run on {given} images"
    )


def _borders(images: np.ndarray) -> np.ndarray:
    """Each image's border pixels as one row (N, 4 * 28 - 4)."""
    images = images.reshape(-1, *images.shape[-2:])
    return np.concatenate(
        [images[:, 0, :], images[:, -1, :], images[:, 1:-1, 0], images[:, 1:-1, -1]], axis=1
    )
