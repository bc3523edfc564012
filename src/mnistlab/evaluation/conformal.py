"""Conformal prediction sets from held-out images (a model's validation split, never the test split): the
arithmetic on probabilities, for any model. A network gives its sets with it
(:meth:`mnistlab.models.TorchClassifier.predict_set`) and ``evaluate`` measures them
(:func:`mnistlab.evaluation.trust_numbers`).

Conformal prediction sets say which answers are uncertain, with a guarantee: split conformal prediction (Vovk et
al., 2005) with the "LAC" / "score" nonconformity of Sadinle, Lei and Wasserman (2019), as MAPIE names it.

Calibration: on held-out images (the validation split), each image's nonconformity score is 1 - the predicted
probability of its true class. For a new image, the set holds every class whose score would be at most the
``ceil((n + 1)(1 - alpha)) / n`` empirical quantile of the n calibration scores; if the calibration and new
images are exchangeable, the set contains the true class with probability >= 1 - alpha. The class-conditional
variant ("Mondrian") takes one quantile per class from that class's calibration images, and guarantees the
coverage within every class.

Both can give an empty set: no class is as probable as the true class of ``1 - alpha`` of the held-out images
(the model is sure of something it has rarely been right about, or unsure of everything). An empty set counts
as a miss among the ``alpha`` the guarantee allows, and tells a person nothing to act on, so the product's
default is a set that is never empty:

- ``"split-nonempty"`` (the default): the split set with the most probable class added when it is missing. It
  holds every set LAC holds, so the guarantee stands, and differs from LAC only on the images LAC left empty.
- ``"aps"``: Adaptive Prediction Sets (Romano, Sesia and Candes, 2020): the classes, most probable first, until
  their probabilities add up to the calibrated level; the class that crosses it is included, so never empty.
- ``"raps"``: Regularized APS (Angelopoulos, Bates, Malik and Jordan, 2021): APS with a penalty on unlikely
  classes, its size parameters chosen on a tenth of the held-out images; smaller sets than APS.

APS and RAPS come from MAPIE (BSD-3), computed from the held-out probabilities a run saves (run format 3 on);
their calibration draws MAPIE's uniform tie-breaking with a fixed seed, so the same run gives the same sets.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from mnistlab.errors import ParameterError

METHODS = ("split-nonempty", "split", "class-conditional", "aps", "raps")
DEFAULT_METHOD = "split-nonempty"  # a set a person can act on: never empty, the split guarantee kept
CAN_BE_EMPTY = ("split", "class-conditional")  # the methods whose sets may hold no class
ADAPTIVE = ("aps", "raps")  # the methods that need the held-out probabilities, not only the scores
MAPIE_SEED = 0  # APS / RAPS: the seed of MAPIE's randomised calibration scores and RAPS's tuning split
# The share of the held-out images RAPS chooses its penalty and rank on: MAPIE 1.6 overwrites its size_raps with
# None when it sets up the score, so scikit-learn's StratifiedShuffleSplit default (0.1) is what it uses.
RAPS_TUNING = 0.1


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a one-line error listing them.

    Examples
    --------
    >>> check_method("lac")
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: method='lac'; expected one of split-nonempty, split, class-conditional, aps, raps
    """
    if method not in METHODS:
        raise ParameterError("method", method, f"one of {', '.join(METHODS)}")
    return method


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in (0, 1), or a one-line error.

    Examples
    --------
    >>> check_alpha(1.5)
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: alpha=1.5; expected a miscoverage rate between 0 and 1 (0.1: sets that hold the true class 90% of the time)
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(
            "alpha",
            alpha,
            "a miscoverage rate between 0 and 1 (0.1: sets that hold the true class 90% of the time)",
        )
    return float(alpha)


def empty_set_meaning(alpha: float) -> str:
    """What an empty set of a method that can give one (:data:`CAN_BE_EMPTY`) means, in words a person can act
    on (the web app shows it beside an empty set).

    Examples
    --------
    >>> empty_set_meaning(0.1)[:60]
    'An empty 90% set: the model is less sure of every class than'
    """
    level = f"{100 * (1 - check_alpha(alpha)):g}%"
    return (
        f"An empty {level} set: the model is less sure of every class than it was of the true class of {level} "
        "of the validation images. It does not mean the image is none of these classes: the guarantee counts "
        "it as a miss, and with an accurate model it often happens to images whose most probable class is "
        "right. The method split-nonempty (the default) always holds that class."
    )


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ``ceil((n + 1)(1 - alpha)) / n`` empirical quantile of calibration ``scores`` (the higher order
    statistic); ``inf`` when n is too small for that level (every class then belongs to every set).

    Examples
    --------
    >>> conformal_quantile(np.arange(1, 10) / 10, 0.1)  # 9 scores: the 9th smallest
    0.9
    >>> conformal_quantile(np.arange(1, 10) / 10, 0.05)
    inf
    """
    alpha = check_alpha(alpha)
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    rank = int(np.ceil((len(scores) + 1) * (1 - alpha)))
    return float(scores[rank - 1]) if rank <= len(scores) else float("inf")


@dataclass(frozen=True)
class ConformalCalibration:
    """Held-out images' nonconformity scores, labels and (from run format 3 on) probabilities: what
    :func:`prediction_sets` needs. ``probabilities`` is ``None`` for a run saved before APS and RAPS existed:
    its split and class-conditional sets work, the adaptive ones are refused."""

    scores: np.ndarray
    labels: np.ndarray
    n_classes: int
    probabilities: np.ndarray | None = None

    @classmethod
    def from_probabilities(cls, proba: np.ndarray, y: np.ndarray) -> ConformalCalibration:
        """From held-out probabilities (N, classes; columns indexed by label) and labels."""
        y = np.asarray(y)
        proba = np.asarray(proba, dtype=np.float64)
        return cls(1 - proba[np.arange(len(y)), y], y, proba.shape[1], proba)

    def thresholds(self, alpha: float, method: str = "split") -> np.ndarray:
        """Per class, the largest score a class may have and be in the set (split and class-conditional sets;
        ``"split-nonempty"`` uses the split thresholds)."""
        if method in ("split", "split-nonempty"):
            return np.full(self.n_classes, conformal_quantile(self.scores, alpha))
        if method == "class-conditional":
            return np.array(
                [conformal_quantile(self.scores[self.labels == k], alpha) for k in range(self.n_classes)]
            )
        check_method(method)
        raise ParameterError(f"method={method!r} has no per-class thresholds (an adaptive set)")


def prediction_sets(
    proba: np.ndarray, calibration: ConformalCalibration, alpha: float = 0.1, method: str = DEFAULT_METHOD
) -> np.ndarray:
    """(N, classes) booleans: which classes each image's set holds.

    Split and class-conditional sets hold the classes with ``1 - proba <= threshold`` (possibly none);
    ``"split-nonempty"`` adds each image's most probable class to its split set; ``"aps"`` and ``"raps"`` are
    MAPIE's (never empty). See the module's docstring for what each guarantees.

    Raises
    ------
    ParameterError
        For an ``alpha`` outside (0, 1), an unknown method, or an adaptive method on a calibration saved
        without its probabilities (a run saved before format 3).

    Examples
    --------
    >>> held_out = ConformalCalibration.from_probabilities(np.array([[0.9, 0.1]] * 9), np.zeros(9, int))
    >>> prediction_sets(np.array([[0.95, 0.05], [0.5, 0.5]]), held_out, alpha=0.1, method="split").tolist()
    [[True, False], [False, False]]
    >>> prediction_sets(np.array([[0.95, 0.05], [0.4, 0.6]]), held_out, alpha=0.1).tolist()  # split-nonempty
    [[True, False], [False, True]]
    """
    check_alpha(alpha)
    check_method(method)
    proba = np.asarray(proba, dtype=np.float64)
    if method in ADAPTIVE:
        return _adaptive_sets(proba, calibration, alpha, method)
    sets = (1 - proba) <= calibration.thresholds(alpha, method)[None, :] + 1e-12
    if method == "split-nonempty" and len(sets):
        sets[np.arange(len(sets)), proba.argmax(axis=1)] = True
    return sets


def _adaptive_sets(
    proba: np.ndarray, calibration: ConformalCalibration, alpha: float, method: str
) -> np.ndarray:
    """APS / RAPS sets from MAPIE's SplitConformalClassifier in prefit mode, over the held-out probabilities
    (a stand-in estimator whose "features" are the probabilities: a run keeps no validation images)."""
    if calibration.probabilities is None:
        raise ParameterError(
            f"method={method!r} needs the validation split's probabilities, which runs save from format 3 on; "
            f"this run was saved before: use one of {', '.join(m for m in METHODS if m not in ADAPTIVE)}, or "
            "train it again"
        )
    from mapie.classification import SplitConformalClassifier
    from mapie.conformity_scores import APSConformityScore, RAPSConformityScore

    present = np.unique(calibration.labels, return_counts=True)[1]
    if len(present) < 3:
        raise ParameterError(
            f"method={method!r} needs 3 or more classes in the validation split (MAPIE gives two-class data LAC "
            "sets only); use split-nonempty"
        )
    n = len(calibration.labels)
    tuning = (
        int(np.ceil(RAPS_TUNING * n)) if method == "raps" else 0
    )  # RAPS's size parameters are chosen there
    level = 1 - (1 - alpha)  # the alpha MAPIE checks: from its confidence level (1 - 0.9 is not quite 0.1)
    if min(n - tuning, tuning if method == "raps" else n) < max(1 / level, 1 / (1 - level)):
        # too few held-out images for this level (MAPIE refuses): every class, as conformal_quantile's inf gives
        return np.ones((len(proba), calibration.n_classes), dtype=bool)
    if method == "raps" and (present.min(initial=2) < 2 or min(tuning, n - tuning) < len(present)):
        raise ParameterError(
            f"method='raps' chooses its size parameters on a tenth of the validation split, drawn class by class, "
            f"and {n} images of {len(present)} classes are too few for that; use aps or split-nonempty"
        )
    if len(proba) == 0:
        return np.zeros((0, calibration.n_classes), dtype=bool)
    score = APSConformityScore() if method == "aps" else RAPSConformityScore()
    given = GivenProbabilities(calibration.n_classes).fit(calibration.probabilities[:1])
    mapie = SplitConformalClassifier(
        given, confidence_level=1 - alpha, conformity_score=score, prefit=True, random_state=MAPIE_SEED
    )
    with warnings.catch_warnings():  # a class absent from a small validation split: the guarantee still holds
        warnings.filterwarnings(
            "ignore", "WARNING: your conformalization dataset has less labels", UserWarning
        )
        mapie.conformalize(calibration.probabilities, calibration.labels)
        sets = mapie.predict_set(proba, conformity_score_params={"include_last_label": True})[1][:, :, 0]
    return np.asarray(sets, dtype=bool)


class GivenProbabilities(ClassifierMixin, BaseEstimator):
    """A classifier whose input is already its class probabilities (N, ``n_classes``): how MAPIE calibrates on
    probabilities computed earlier (a run's validation split) without the model or the images.

    Examples
    --------
    >>> GivenProbabilities(2).fit(np.array([[0.2, 0.8]])).predict(np.array([[0.7, 0.3], [0.1, 0.9]])).tolist()
    [0, 1]
    """

    def __init__(self, n_classes: int = 2) -> None:
        self.n_classes = n_classes

    def fit(self, X, y=None) -> GivenProbabilities:
        self.classes_ = np.arange(self.n_classes)
        self.n_features_in_ = self.n_classes
        return self

    def predict_proba(self, X) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        return np.asarray(X).argmax(axis=1)


def coverage(sets: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(share of sets holding the true class, mean set size).

    Examples
    --------
    >>> coverage(np.array([[True, False], [True, True]]), np.array([1, 1]))
    (0.5, 1.5)
    """
    y = np.asarray(y)
    return float(sets[np.arange(len(y)), y].mean()), float(sets.sum(axis=1).mean())
