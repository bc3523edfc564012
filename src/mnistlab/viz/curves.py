"""Curves: a training run's learning curves, and a binary detector's precision and recall against its threshold,
its precision-recall and ROC curves (``from_detector`` / ``from_detectors``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mnistlab.evaluation import DetectorResult
from mnistlab.viz.style import NEUTRAL, RIGHT, Display, panel_area, single_axes


class LearningCurveDisplay(Display):
    """Loss and accuracy per epoch, training and validation (two panels); a run of few epochs is drawn per
    optimizer step.

    Parameters
    ----------
    history : list of dict
        One dict per epoch (``TorchClassifier.history_``, a run's ``history.json``): ``epoch``, ``train_loss``,
        ``train_accuracy`` and, with a validation split, ``val_loss`` and ``val_accuracy``.
    title : str
        The figure's title.
    steps : list of dict, optional
        One dict per optimizer step (``TorchClassifier.step_history_``): ``step``, ``epoch``, ``train_loss``.
        Given, and the run has at most :attr:`PER_STEP_EPOCHS` epochs, the x-axis counts optimizer steps: the
        loss of every batch, and the epoch's numbers at the step that ended it (one point per epoch says
        nothing about a one-epoch run).

    Examples
    --------
    >>> history = [{"epoch": 1, "train_loss": 0.9, "train_accuracy": 0.7}]
    >>> steps = [{"step": s, "epoch": 1, "train_loss": 2.3 / s} for s in range(1, 6)]
    >>> curves = LearningCurveDisplay.from_history(history, steps=steps).plot()
    >>> curves.per_step, curves.axes_[0, 0].get_xlabel()
    (True, 'optimizer step')
    """

    PER_STEP_EPOCHS = 3

    def __init__(
        self,
        history: Sequence[Mapping],
        title: str = "learning curves",
        steps: Sequence[Mapping] | None = None,
    ) -> None:
        self.history, self.title = list(history), title
        self.steps = list(steps or [])

    @classmethod
    def from_history(
        cls,
        history: Sequence[Mapping],
        title: str = "learning curves",
        steps: Sequence[Mapping] | None = None,
    ) -> LearningCurveDisplay:
        """The curves of a history (and, for runs of few epochs, its optimizer steps)."""
        return cls(history, title, steps)

    @classmethod
    def from_estimator(cls, estimator, title: str = "learning curves") -> LearningCurveDisplay:
        """The curves of a fitted estimator's ``history_`` and ``step_history_``.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> fitted = SimpleNamespace(history_=[{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5}])
        >>> LearningCurveDisplay.from_estimator(fitted).per_step
        False
        """
        return cls(estimator.history_, title, getattr(estimator, "step_history_", None))

    @property
    def per_step(self) -> bool:
        """Whether the x-axis counts optimizer steps (few epochs, and their steps known)."""
        return bool(self.steps) and len(self.history) <= self.PER_STEP_EPOCHS

    def _epoch_ends(self) -> list[int]:
        """The step that ended each epoch of the history."""
        last = {}
        for row in self.steps:
            last[row["epoch"]] = row["step"]
        return [last.get(row["epoch"], 0) for row in self.history]

    def _draw(self, ax) -> None:
        from matplotlib.ticker import MaxNLocator

        self.figure_, area = panel_area(ax, (9, 3.4))
        self.axes_ = area.subplots(1, 2, squeeze=False)
        epochs = [row["epoch"] for row in self.history]
        x = self._epoch_ends() if self.per_step else epochs
        for key, panel in zip(("loss", "accuracy"), self.axes_[0], strict=True):
            if self.per_step and key == "loss":
                panel.plot(
                    [row["step"] for row in self.steps],
                    [row["train_loss"] for row in self.steps],
                    "-",
                    linewidth=1,
                    label="train loss (each batch)",
                )
            else:
                label = f"train {key}" + (" (epoch)" if self.per_step else "")
                panel.plot(x, [row[f"train_{key}"] for row in self.history], "o-", label=label)
            if self.history and f"val_{key}" in self.history[0]:
                panel.plot(x, [row[f"val_{key}"] for row in self.history], "s-", label=f"validation {key}")
            panel.set_xlabel("optimizer step" if self.per_step else "epoch")
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            if self.per_step:  # both panels span the whole run, from its first step
                panel.set_xlim(0, max(row["step"] for row in self.steps))
            elif len(set(epochs)) == 1:  # one epoch: one tick, not fractions around it
                panel.set_xticks(epochs)
            panel.set_ylabel(key)
            panel.legend(frameon=False)
        area.suptitle(self.title)


class PrecisionRecallThresholdDisplay(Display):
    """Precision and recall of a binary detector against its decision threshold, a chosen threshold marked."""

    def __init__(self, precision, recall, thresholds, threshold: float | None = None) -> None:
        self.precision, self.recall, self.thresholds = precision, recall, thresholds
        self.threshold = threshold

    @classmethod
    def from_detector(cls, result: DetectorResult, target_precision: float | None = None):
        curves = result.curves()
        chosen = result.threshold_for(precision=target_precision)["threshold"] if target_precision else None
        return cls(curves["precision"], curves["recall"], curves["thresholds"], chosen)

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (8, 3.6))
        self.ax_.plot(self.thresholds, self.precision[:-1], "--", color=RIGHT, label="precision")
        self.ax_.plot(self.thresholds, self.recall[:-1], "-", color="tab:green", label="recall")
        if self.threshold is not None:
            self.ax_.axvline(
                self.threshold, color=NEUTRAL, linestyle=":", label=f"threshold {self.threshold:.3g}"
            )
        self.ax_.set_xlabel("threshold")
        self.ax_.set_ylim(0, 1.02)
        self.ax_.legend(frameon=False, loc="center left")
        self.ax_.set_title("precision and recall against the decision threshold")


class _CurvesDisplay(Display):
    """One line per detector on shared unit axes."""

    axis_names: tuple[str, str] = ("", "")
    title = ""
    legend_loc = "best"
    score_name = ""

    def __init__(
        self, curves: Mapping[str, tuple[np.ndarray, np.ndarray]], scores: Mapping[str, float]
    ) -> None:
        self.curves, self.scores = dict(curves), dict(scores)

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (5.2, 4.6))
        for name, (x, y) in self.curves.items():
            self.ax_.plot(x, y, label=f"{name} ({self.score_name} {self.scores[name]:.4f})")
        self._decorate()
        self.ax_.set_xlabel(self.axis_names[0])
        self.ax_.set_ylabel(self.axis_names[1])
        self.ax_.set_xlim(0, 1)
        self.ax_.set_ylim(0, 1.02)
        self.ax_.legend(frameon=False, loc=self.legend_loc)
        self.ax_.set_title(self.title)

    def _decorate(self) -> None:
        pass


class PrecisionRecallCurvesDisplay(_CurvesDisplay):
    """Precision against recall for one or more detectors, with their average precision."""

    axis_names, title, legend_loc, score_name = (
        ("recall", "precision"),
        "precision-recall curve",
        "lower left",
        "AP",
    )

    @classmethod
    def from_detectors(cls, results: Mapping[str, DetectorResult]) -> PrecisionRecallCurvesDisplay:
        scored = {name: r for name, r in results.items() if r.scores is not None}
        curves = {name: (r.curves()["recall"], r.curves()["precision"]) for name, r in scored.items()}
        return cls(curves, {name: r.to_dict()["average_precision"] for name, r in scored.items()})


class RocCurvesDisplay(_CurvesDisplay):
    """ROC curves of one or more detectors, with their AUC and the chance diagonal."""

    axis_names = ("false positive rate", "true positive rate (recall)")
    title, legend_loc, score_name = "ROC curve", "lower right", "AUC"

    @classmethod
    def from_detectors(cls, results: Mapping[str, DetectorResult]) -> RocCurvesDisplay:
        scored = {name: r for name, r in results.items() if r.scores is not None}
        curves = {name: (r.curves()["fpr"], r.curves()["tpr"]) for name, r in scored.items()}
        return cls(curves, {name: r.to_dict()["roc_auc"] for name, r in scored.items()})

    def _decorate(self) -> None:
        self.ax_.plot([0, 1], [0, 1], ":", color=NEUTRAL, label="chance")
