"""Binary detectors, the study of Hands-On ML chapter 3: "class K against the rest" with cross-validation, a dummy baseline,
precision/recall, the precision/recall trade-off against the threshold, PR and ROC curves.

Each fold is fitted once (``cross_validate`` with ``return_estimator``/``return_indices``); accuracies, out-of-fold
predictions and out-of-fold decision scores all come from those same fits, so the study costs k fits, not 3k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_validate

from mnistlab.errors import ParameterError
from mnistlab.parallel import loop_of_fits


def positive_scores(estimator: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """A score that grows with confidence in the positive class: decision_function, else P(positive)."""
    if hasattr(estimator, "decision_function"):
        try:
            return np.asarray(estimator.decision_function(X), float)
        except AttributeError:
            pass
    return estimator.predict_proba(X)[:, 1]


@dataclass
class CrossValResult:
    scores: np.ndarray  # accuracy of each fold
    predictions: np.ndarray  # out-of-fold predicted labels
    decision_scores: np.ndarray | None  # out-of-fold positive scores (binary tasks)
    fold_of: np.ndarray  # fold index of every sample


def check_folds(folds: int, labels) -> None:
    """``folds`` must leave an image of each class in every fold.

    Examples
    --------
    >>> check_folds(3, np.array([0, 0, 1, 1]))
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: folds=3; expected 2..2 (each fold needs an image of each class; the rarest class has 2)
    """
    present = np.bincount(labels)
    smallest = int(present[present > 0].min()) if present.any() else 0
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= max(smallest, 2):
        raise ParameterError(
            "folds",
            folds,
            f"2..{max(smallest, 2)} (each fold needs an image of each class; the rarest class has {smallest})",
        )


@loop_of_fits()  # one fit per fold: Ctrl-C or SIGTERM stops them all, no half-done scores
def cross_validate_model(
    estimator: BaseEstimator,
    X,
    y,
    folds: int = 3,
    binary_scores: bool = False,
    shuffle: bool = False,
    seed: int | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> CrossValResult:
    """Stratified k-fold accuracy plus out-of-fold predictions (and positive scores when ``binary_scores``).

    Without shuffling the folds are those of ``cross_val_score(estimator, X, y, cv=folds)``, so the book's
    published numbers come out exactly. ``verbose=2`` prints a line as each fold ends (scikit-learn's progress).
    """
    cv = StratifiedKFold(folds, shuffle=shuffle, random_state=seed if shuffle else None)
    result = cross_validate(
        estimator,
        X,
        y,
        cv=cv,
        scoring="accuracy",
        return_estimator=True,
        return_indices=True,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    y = np.asarray(y)
    predictions = np.empty_like(y)
    scores = np.empty(len(y)) if binary_scores else None
    fold_of = np.empty(len(y), int)
    for k, (fitted, test_idx) in enumerate(zip(result["estimator"], result["indices"]["test"], strict=True)):
        predictions[test_idx] = fitted.predict(X[test_idx])
        fold_of[test_idx] = k
        if scores is not None:
            scores[test_idx] = positive_scores(fitted, X[test_idx])
    return CrossValResult(np.asarray(result["test_score"]), predictions, scores, fold_of)


@dataclass
class DetectorResult:
    """The Hands-On ML numbers of one binary detector, from out-of-fold predictions and scores."""

    name: str
    y_true: np.ndarray
    cv: CrossValResult

    @property
    def scores(self) -> np.ndarray:
        return self.cv.decision_scores

    def threshold_for(self, precision: float | None = None, recall: float | None = None) -> dict:
        """Lowest threshold reaching ``precision`` (or highest reaching ``recall``) and what the other becomes."""
        p, r, t = precision_recall_curve(self.y_true, self.scores)
        if precision is not None:
            reach = np.flatnonzero(p[:-1] >= precision)
            i = int(reach[0]) if reach.size else len(t) - 1
        elif recall is not None:
            reach = np.flatnonzero(r[:-1] >= recall)
            i = int(reach[-1]) if reach.size else 0
        else:
            raise ParameterError("threshold_for needs a target precision or recall")
        threshold = float(t[i])
        predicted = self.scores >= threshold
        return {
            "threshold": threshold,
            "precision": float(precision_score(self.y_true, predicted, zero_division=0)),
            "recall": float(recall_score(self.y_true, predicted)),
        }

    def to_dict(self) -> dict:
        y, pred = self.y_true, self.cv.predictions
        out = {
            "cv_accuracy": self.cv.scores.tolist(),
            "confusion_matrix": confusion_matrix(y, pred, labels=[False, True]).tolist(),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred)),
            "f1": float(f1_score(y, pred)),
        }
        if self.scores is not None:
            out["roc_auc"] = float(roc_auc_score(y, self.scores))
            out["average_precision"] = float(average_precision_score(y, self.scores))
        return out

    def curves(self) -> dict:
        p, r, t = precision_recall_curve(self.y_true, self.scores)
        fpr, tpr, roc_t = roc_curve(self.y_true, self.scores)
        return {"precision": p, "recall": r, "thresholds": t, "fpr": fpr, "tpr": tpr, "roc_thresholds": roc_t}


@loop_of_fits()  # every model's folds: Ctrl-C or SIGTERM stops the study
def detector_study(
    estimators: dict[str, BaseEstimator],
    X,
    y,
    positive,
    folds: int = 3,
    verbose: int = 0,
    n_jobs: int | None = None,
) -> dict[str, DetectorResult]:
    """Cross-validate each estimator as a "``positive`` against the rest" detector on the same folds."""
    y_binary = np.asarray(y) == positive
    return {
        name: DetectorResult(
            name,
            y_binary,
            cross_validate_model(est, X, y_binary, folds, binary_scores=True, n_jobs=n_jobs, verbose=verbose),
        )
        for name, est in estimators.items()
    }
