"""Which recorded labels out-of-sample probabilities contradict, after confident learning (Northcutt et al., 2021)
as cleanlab implements it.

:func:`suspected_label_errors` (the verdict): cleanlab's calibrated estimate of how many labels are wrong
(``cleanlab.count.num_label_issues`` with ``estimation_method="off_diagonal_calibrated"``: the confident joint,
calibrated to the label counts), and which ones: that many images with the lowest probability of their recorded
label (self-confidence, cleanlab's label quality score). :func:`first_pass_suspects` is cleanlab's default filter
(``cleanlab.filter.find_label_issues``: that many taken from each pair of classes, largest margin first); the
label check uses it only to choose what its judge leaves out when it is refit.

Measured on the judge's own probabilities (refit, calibrated) for planted flips in 10,000 MNIST and
Fashion-MNIST training images (``benchmarks/label_error_filters.py``): choosing by self-confidence across all
classes beat choosing per pair of classes in every case but one, where they tied; per pair, the confusable
pairs of a weak judge (Fashion's shirts and T-shirts) fill their estimated counts with clean images.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np


def suspected_label_errors(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of images whose recorded label is doubtful under out-of-sample probabilities ``proba`` (one row
    per image, one column per class), most doubtful (lowest probability of the recorded label) first.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.15, 0.85]])
    >>> suspected_label_errors(proba, np.array([0, 0, 1, 1, 1, 1]))  # image 2 looks like a 0 but is labelled 1
    array([2])
    """
    from cleanlab.count import num_label_issues

    labels, proba = np.asarray(labels), np.asarray(proba, dtype=float)
    if len(labels) == 0:
        return np.array([], dtype=int)
    with _quiet():
        count = int(num_label_issues(labels, proba, estimation_method="off_diagonal_calibrated"))
    self_confidence = proba[np.arange(len(labels)), labels]
    return np.argsort(self_confidence, kind="stable")[: min(count, len(labels))].astype(int)


def first_pass_suspects(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """cleanlab's default filter (``find_label_issues``) on ``proba``, most doubtful first: what a judge refit
    without its first pass's suspects leaves out (more of them than :func:`suspected_label_errors` flags on a
    weak judge, which is what a refit wants: leaving out a doubtful clean image costs little).

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.15, 0.85]])
    >>> first_pass_suspects(proba, np.array([0, 0, 1, 1, 1, 1]))
    array([2])
    """
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels)
    if len(labels) == 0:
        return np.array([], dtype=int)
    with _quiet():
        found = find_label_issues(
            labels, np.asarray(proba, dtype=float), return_indices_ranked_by="self_confidence", n_jobs=1
        )
    return np.asarray(found, dtype=int)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without cleanlab's "may not flag all label issues in class k, it has too few examples": the check's own
    caveat says it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="May not flag all label issues", category=UserWarning)
        yield
