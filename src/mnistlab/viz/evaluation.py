"""Evaluation figures as Display objects: confusion matrices, prediction panels, top losses, most-confused pairs,
learning curves, precision/recall against the threshold, PR and ROC curves, denoising.

Each holds its values, is built by ``from_evaluation`` / ``from_predictions`` (``y_true`` before ``y_pred``
everywhere) or ``from_detectors``, and is drawn by ``plot(ax=None)``, as scikit-learn's displays are.

Examples
--------
>>> import numpy as np
>>> cm = ConfusionDisplay.from_predictions(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"]).plot()
>>> cm.confusion.tolist(), [t.get_text() for t in cm.ax_.texts]
([[1, 0], [1, 1]], ['1', '0', '1', '1'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.evaluation.binary import DetectorResult
from mnistlab.evaluation.calibration import Calibration, calibration
from mnistlab.evaluation.metrics import Evaluation, errors_only, most_confused, row_normalised, top_losses
from mnistlab.viz.style import NEUTRAL, RIGHT, WRONG, Display, panel_area, show_image, single_axes

CELL_FONT, LABEL_FONT = 11, 10  # points: a confusion matrix's numbers in cells, its class names and titles
CONFUSION_KINDS = {
    "counts": "confusion matrix",
    "normalised": "confusion matrix (rows sum to 1)",
    "errors": "errors only (row-normalised, diagonal zeroed)",
}


class ConfusionDisplay(Display):
    """The confusion matrix as ``counts``, ``normalised`` (rows sum to 1) or ``errors`` (normalised, diagonal
    zeroed: where each class's errors go, the Hands-On ML error analysis).

    Parameters
    ----------
    confusion : ndarray of shape (n_classes, n_classes)
        Counts, rows the true classes (scikit-learn's convention).
    classes : sequence of str
        The class names.
    kind : {"counts", "normalised", "errors"}
        What the cells show.

    Examples
    --------
    >>> display = ConfusionDisplay.from_predictions([0, 0, 1, 1], [0, 1, 1, 1], ["cat", "dog"], "errors")
    >>> display.values.tolist()
    [[0.0, 0.5], [0.0, 0.0]]
    >>> display.plot().figure_ is not None
    True
    """

    def __init__(self, confusion: np.ndarray, classes: Sequence[str], kind: str = "counts") -> None:
        if kind not in CONFUSION_KINDS:
            raise ParameterError(f"kind={kind!r}; expected one of {', '.join(CONFUSION_KINDS)}")
        self.confusion, self.classes, self.kind = np.asarray(confusion), list(classes), kind

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation, kind: str = "counts") -> ConfusionDisplay:
        """The confusion matrix of an :class:`~mnistlab.evaluation.Evaluation`."""
        return cls(evaluation.confusion, evaluation.classes, kind)

    @classmethod
    def from_predictions(
        cls, y_true, y_pred, classes: Sequence[str], kind: str = "counts"
    ) -> ConfusionDisplay:
        """The confusion matrix of true and predicted class indices (true first, as scikit-learn)."""
        return cls.from_evaluation(Evaluation(list(classes), np.asarray(y_true), np.asarray(y_pred)), kind)

    @property
    def values(self) -> np.ndarray:
        return {
            "counts": self.confusion,
            "normalised": row_normalised(self.confusion),
            "errors": errors_only(self.confusion),
        }[self.kind]

    def _draw(self, ax) -> None:
        # Sized for the run report, which shows two matrices side by side on a 1280 px screen (about 530 px
        # each): a 10-class matrix is 6.9 x 6 inches, so its 11 pt cell numbers are shown about 12 px high.
        size = max(4.5, 0.45 * len(self.classes) + 1.5)
        self.figure_, self.ax_ = single_axes(ax, (size + 0.9, size))
        self.text_ = _matrix_with_values(
            self.ax_,
            self.values,
            self.classes,
            cmap="Reds" if self.kind == "errors" else "Blues",
            values_format="d" if self.kind == "counts" else ".2f",
        )
        self.ax_.tick_params(labelsize=LABEL_FONT)
        self.ax_.xaxis.label.set_fontsize(LABEL_FONT)
        self.ax_.yaxis.label.set_fontsize(LABEL_FONT)
        if len(self.classes) > 12:  # numbers in cells stop being readable
            for text in self.text_.ravel():
                text.set_visible(False)
        elif self.kind == "errors":  # the cells without errors: blank, so the errors stand out
            for text, value in zip(self.text_.ravel(), self.values.ravel(), strict=True):
                text.set_visible(value > 0)
        self.ax_.set_title(CONFUSION_KINDS[self.kind], fontsize=LABEL_FONT + 1)


def _matrix_with_values(
    ax, matrix: np.ndarray, labels: Sequence[str], cmap: str, values_format: str
) -> np.ndarray:
    """scikit-learn's ``ConfusionMatrixDisplay.plot`` drawing, on ``ax`` only: the matrix as an image with a
    colour bar, each cell's value in the colour that reads on it, rows the true classes; its (n, n) texts.

    Drawn here rather than through scikit-learn, whose ``plot`` imports pyplot (and sets the tick labels'
    rotation through it): a figure in a server or a notebook must leave pyplot alone."""
    n = len(matrix)
    image = ax.imshow(matrix, interpolation="nearest", cmap=cmap)
    darkest, lightest = image.cmap(1.0), image.cmap(0)
    middle = (matrix.max() + matrix.min()) / 2.0
    texts = np.empty_like(matrix, dtype=object)
    for i in range(n):
        for j in range(n):
            colour = darkest if matrix[i, j] < middle else lightest
            texts[i, j] = ax.text(
                j,
                i,
                format(matrix[i, j], values_format),
                ha="center",
                va="center",
                color=colour,
                fontsize=CELL_FONT,
            )
    ax.figure.colorbar(image, ax=ax)
    ax.set(
        xticks=np.arange(n),
        yticks=np.arange(n),
        xticklabels=labels,
        yticklabels=labels,
        ylabel="True label",
        xlabel="Predicted label",
    )
    ax.set_ylim((n - 0.5, -0.5))
    for label in ax.get_xticklabels():
        label.set_rotation(45)
    return texts


def _prediction_panel(ax_img, ax_bar, image, proba, true: int, classes: Sequence[str]) -> None:
    predicted = int(np.argmax(proba))
    colour = RIGHT if predicted == true else WRONG
    show_image(ax_img, image)
    ax_img.set_xlabel(f"{classes[predicted]} {100 * proba[predicted]:.0f}% ({classes[true]})", color=colour)
    bars = ax_bar.bar(range(len(classes)), proba, color=NEUTRAL)
    bars[predicted].set_color(WRONG)
    bars[true].set_color(
        RIGHT
    )  # the true bar is blue; when right it hides the red one, as in the Keras tutorial
    ax_bar.set_ylim(0, 1)
    ax_bar.set_xticks(range(len(classes)), [c[:7] for c in classes], rotation=90, fontsize=6)
    ax_bar.set_yticks([])


class _ChosenPredictions(Display):
    """Images with their true labels and class probabilities, of which ``indices`` are shown, ``cols`` a row."""

    def __init__(
        self, images, y_true, proba, classes: Sequence[str], indices: Sequence[int], cols: int
    ) -> None:
        self.images, self.y_true, self.proba = images, np.asarray(y_true), np.asarray(proba)
        self.classes, self.indices, self.cols = list(classes), list(indices), cols


class PredictionGridDisplay(_ChosenPredictions):
    """The Keras tutorial's panels: each image captioned "predicted NN% (true)" (blue when right, red when
    wrong) beside the bars of its class probabilities (predicted bar red, true bar blue).

    Parameters
    ----------
    images : ndarray of shape (N, 28, 28)
        The images the probabilities are of.
    y_true : ndarray of shape (N,)
        True class indices.
    proba : ndarray of shape (N, n_classes)
        Predicted probabilities.
    classes : sequence of str
        The class names.
    indices : sequence of int
        Which images to draw.
    cols : int
        Panels per row.

    Examples
    --------
    >>> images = np.zeros((2, 28, 28), np.uint8)
    >>> proba = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> display = PredictionGridDisplay.from_predictions(images, np.array([0, 0]), proba, ["a", "b"]).plot()
    >>> [ax.get_xlabel() for ax in display.figure_.axes if ax.get_xlabel()]
    ['a 90% (a)', 'b 70% (a)']
    """

    def __init__(
        self, images, y_true, proba, classes: Sequence[str], indices: Sequence[int], cols: int = 3
    ) -> None:
        super().__init__(images, y_true, proba, classes, indices, cols)

    @classmethod
    def from_predictions(
        cls, images, y_true, proba, classes: Sequence[str], n: int = 15
    ) -> PredictionGridDisplay:
        """The first ``n`` images."""
        return cls(images, y_true, proba, classes, range(min(n, len(images))))

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation, images, n: int = 15) -> PredictionGridDisplay:
        """The first ``n`` images of an evaluation with probabilities (the images it was computed on)."""
        if evaluation.proba is None:
            raise ParameterError("the prediction panels need class probabilities; this model gives none")
        return cls.from_predictions(images, evaluation.y_true, evaluation.proba, evaluation.classes, n)

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.indices) / self.cols)))
        self.figure_, area = panel_area(ax, (4.4 * self.cols, 2.1 * rows))
        self.axes_ = area.subplots(
            rows, 2 * self.cols, squeeze=False, gridspec_kw={"width_ratios": [1, 1.2] * self.cols}
        )
        for panel in self.axes_.ravel():
            panel.axis("off")
        for n, i in enumerate(self.indices):
            ax_img, ax_bar = (
                self.axes_[n // self.cols, 2 * (n % self.cols)],
                self.axes_[n // self.cols, 2 * (n % self.cols) + 1],
            )
            ax_img.axis("on")
            ax_bar.axis("on")
            _prediction_panel(
                ax_img, ax_bar, self.images[i], self.proba[i], int(self.y_true[i]), self.classes
            )


def _gallery(area, images, captions: Sequence[str], colour: str, cols: int):
    rows = max(1, int(np.ceil(len(images) / cols)))
    axes = area.subplots(rows, cols, squeeze=False)
    for panel in axes.ravel():
        panel.axis("off")
    for panel, image, caption in zip(axes.ravel(), images, captions, strict=False):
        show_image(panel, image)
        panel.axis("on")
        panel.set_xlabel(caption, fontsize=7, color=colour)
    return axes


class TopLossesDisplay(_ChosenPredictions):
    """The most confident mistakes (fastai's ``plot_top_losses``): "predicted / actual", the loss and the
    probability given to the actual class."""

    def __init__(
        self, images, y_true, proba, classes: Sequence[str], indices: Sequence[int], cols: int = 8
    ) -> None:
        super().__init__(images, y_true, proba, classes, indices, cols)

    @classmethod
    def from_predictions(cls, images, y_true, proba, classes: Sequence[str], k: int = 16) -> TopLossesDisplay:
        return cls(images, y_true, proba, classes, top_losses(np.asarray(proba), np.asarray(y_true), k))

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation, images, k: int = 16) -> TopLossesDisplay:
        if evaluation.proba is None:
            raise ParameterError("top losses need class probabilities; this model gives none")
        return cls.from_predictions(images, evaluation.y_true, evaluation.proba, evaluation.classes, k)

    def captions(self) -> list[str]:
        out = []
        for i in self.indices:
            actual, predicted = int(self.y_true[i]), int(np.argmax(self.proba[i]))
            p_actual = float(self.proba[i][actual])
            out.append(
                f"{self.classes[predicted][:9]} / {self.classes[actual][:9]}\n"
                f"loss {-np.log(max(p_actual, 1e-12)):.1f}, p {p_actual:.2f}"
            )
        return out

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.indices) / self.cols)))
        self.figure_, area = panel_area(ax, (1.5 * self.cols, 1.75 * rows + 0.3))
        self.axes_ = _gallery(area, self.images[self.indices], self.captions(), WRONG, self.cols)
        area.suptitle("top losses: predicted / actual")


class MostConfusedDisplay(Display):
    """For each (actual, predicted, count) pair, largest first, examples of that mistake (fastai's
    ``most_confused``, with pictures)."""

    def __init__(
        self, images, y_true, y_pred, classes: Sequence[str], pairs: Sequence[tuple], per_pair: int = 6
    ) -> None:
        self.images, self.y_true, self.y_pred = images, np.asarray(y_true), np.asarray(y_pred)
        self.classes, self.pairs, self.per_pair = list(classes), list(pairs), per_pair

    @classmethod
    def from_predictions(
        cls, images, y_true, y_pred, classes: Sequence[str], top: int = 6
    ) -> MostConfusedDisplay:
        evaluation = Evaluation(list(classes), np.asarray(y_true), np.asarray(y_pred))
        return cls.from_evaluation(evaluation, images, top)

    @classmethod
    def from_evaluation(cls, evaluation: Evaluation, images, top: int = 6) -> MostConfusedDisplay:
        pairs = most_confused(evaluation.confusion, evaluation.classes, top=top)
        return cls(images, evaluation.y_true, evaluation.y_pred, evaluation.classes, pairs)

    def _draw(self, ax) -> None:
        rows = max(len(self.pairs), 1)
        self.figure_, area = panel_area(ax, (1.3 * self.per_pair + 1.8, 1.4 * rows + 0.4))
        self.axes_ = area.subplots(rows, self.per_pair, squeeze=False)
        for panel in self.axes_.ravel():
            panel.axis("off")
        for r, (actual, predicted, count) in enumerate(self.pairs):
            a, p = self.classes.index(actual), self.classes.index(predicted)
            examples = np.flatnonzero((self.y_true == a) & (self.y_pred == p))[: self.per_pair]
            for panel, i in zip(self.axes_[r], examples, strict=False):
                show_image(panel, self.images[i])
                panel.axis("on")
            self.axes_[r, 0].axis("on")
            self.axes_[r, 0].set_ylabel(
                f"{actual} -> {predicted}\n({count})", fontsize=8, rotation=0, ha="right", va="center"
            )
        area.suptitle("most confused: actual -> predicted (count)")


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


class DenoiseDisplay(Display):
    """Rows of noisy input, model output and the clean original (multi-output denoising)."""

    def __init__(self, noisy, denoised, clean, n: int = 8) -> None:
        self.noisy, self.denoised, self.clean, self.n = noisy, denoised, clean, min(n, len(clean))

    def _draw(self, ax) -> None:
        self.figure_, area = panel_area(ax, (1.3 * self.n + 1.2, 4.3))
        self.axes_ = area.subplots(3, self.n, squeeze=False)
        for row, (name, images) in enumerate(
            (("noisy", self.noisy), ("denoised", self.denoised), ("clean", self.clean))
        ):
            for c in range(self.n):
                show_image(self.axes_[row, c], images[c])
            self.axes_[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
        area.suptitle("denoising: noisy in, clean out")


class ImageGalleryDisplay(Display):
    """Images in rows of ``cols`` with a caption under each (red captions where ``flagged``)."""

    def __init__(
        self,
        images,
        captions: Sequence[str],
        flagged: Sequence[bool] | None = None,
        cols: int = 8,
        title: str = "",
    ) -> None:
        self.images, self.captions, self.cols, self.title = images, list(captions), cols, title
        self.flagged = list(flagged) if flagged is not None else [False] * len(self.captions)

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.captions) / self.cols)))
        self.figure_, area = panel_area(ax, (1.5 * self.cols, 1.75 * rows + 0.3))
        self.axes_ = _gallery(area, self.images, self.captions, "black", self.cols)
        for panel, flag in zip(self.axes_.ravel(), self.flagged, strict=False):
            panel.xaxis.label.set_color(WRONG if flag else "black")
        if self.title:
            area.suptitle(self.title)


class RunComparisonDisplay(Display):
    """Several runs on one chart: validation accuracy per epoch overlaid, or per-class recall side by side."""

    def __init__(self, series: dict[str, tuple], kind: str) -> None:
        self.series, self.kind = series, kind

    @classmethod
    def curves(cls, histories: dict[str, list[dict]]) -> RunComparisonDisplay:
        series = {}
        for name, history in histories.items():
            key = "val_accuracy" if history and "val_accuracy" in history[0] else "train_accuracy"
            series[name] = ([row["epoch"] for row in history], [row[key] for row in history])
        return cls(series, "curves")

    @classmethod
    def per_class(cls, recalls: dict[str, dict[str, float]]) -> RunComparisonDisplay:
        return cls({name: (list(r), list(r.values())) for name, r in recalls.items()}, "per_class")

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (9, 3.6))
        if self.kind == "curves":
            for name, (x, y) in self.series.items():
                self.ax_.plot(x, y, "o-", label=name)
            from matplotlib.ticker import MaxNLocator

            self.ax_.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
            self.ax_.set_xlabel("epoch")
            self.ax_.set_ylabel("validation accuracy")
        else:
            names = list(self.series)
            width = 0.8 / max(len(names), 1)
            for j, name in enumerate(names):
                classes, values = self.series[name]
                x = np.arange(len(classes))
                self.ax_.bar(x + (j - (len(names) - 1) / 2) * width, values, width, label=name)
            self.ax_.set_xticks(np.arange(len(classes)), [c[:10] for c in classes], rotation=30, ha="right")
            self.ax_.set_ylabel("recall")
            self.ax_.set_ylim(0, 1.05)
        self.ax_.legend(frameon=False, fontsize=7)


class SweepDisplay(Display):
    """A sweep's configurations on one data set: mean test accuracy over seeds as bars, the range over seeds as a
    line, and a reference accuracy (a published figure) as a tick where the sweep file gives one.

    Examples
    --------
    >>> rows = [{"model": "knn", "params": "{}", "mean_accuracy": 0.96, "min_accuracy": 0.95,
    ...          "max_accuracy": 0.97, "reference_accuracy": 0.959}]
    >>> SweepDisplay.from_summary(rows).plot().labels
    ['knn']
    """

    def __init__(
        self,
        labels: Sequence[str],
        means: Sequence[float],
        lows: Sequence[float],
        highs: Sequence[float],
        references: Sequence[float | None],
    ) -> None:
        self.labels, self.references = list(labels), list(references)
        self.means, self.lows, self.highs = (np.asarray(v, float) for v in (means, lows, highs))

    @classmethod
    def from_summary(cls, rows: Sequence[Mapping]) -> SweepDisplay:
        """From the rows of a sweep's summary (one data set; rows without a finished trial are left out)."""
        done = [r for r in rows if r.get("mean_accuracy") is not None]
        labels = [r["model"] + ("" if r["params"] in ("{}", "") else " " + r["params"]) for r in done]
        return cls(
            labels,
            [r["mean_accuracy"] for r in done],
            [r["min_accuracy"] for r in done],
            [r["max_accuracy"] for r in done],
            [r.get("reference_accuracy") for r in done],
        )

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (9, 0.8 + 0.32 * max(len(self.labels), 1)))
        y = np.arange(len(self.labels))[::-1]
        self.ax_.barh(y, self.means, color=NEUTRAL, height=0.6, label="mean over seeds")
        self.ax_.hlines(y, self.lows, self.highs, color="black", linewidth=1.5, label="range over seeds")
        refs = [(yy, r) for yy, r in zip(y, self.references, strict=True) if r is not None]
        if refs:
            self.ax_.plot(
                [r for _, r in refs],
                [yy for yy, _ in refs],
                "|",
                color=WRONG,
                markersize=14,
                markeredgewidth=2,
                label="reference",
            )
        self.ax_.set_yticks(
            y, [label if len(label) < 60 else label[:57] + "..." for label in self.labels], fontsize=7
        )
        values = [*self.lows, *(r for _, r in refs)]
        low = min(values, default=0.0)
        self.ax_.set_xlim(max(0.0, low - 0.05), 1.0)
        self.ax_.set_xlabel("test accuracy")
        self.ax_.legend(frameon=False, fontsize=7, loc="lower right")


class ReliabilityDisplay(Display):
    """A reliability diagram: per confidence bin, the accuracy of the top-label predictions against their mean
    confidence (the diagonal is perfect calibration), for one or more sets of probabilities of the same images
    (e.g. before and after temperature scaling), each labelled with its ECE; below, how many images each bin
    holds."""

    def __init__(self, curves: Mapping[str, Calibration], title: str = "reliability") -> None:
        self.curves, self.title = dict(curves), title

    @classmethod
    def from_predictions(
        cls, y_true, probabilities: Mapping[str, np.ndarray], bins: int = 15, title: str = "reliability"
    ) -> ReliabilityDisplay:
        """``probabilities``: ``{label: (N, classes) array}``, e.g. ``{"raw": p0, "calibrated": p1}``."""
        return cls({name: calibration(y_true, p, bins) for name, p in probabilities.items()}, title)

    def _draw(self, ax) -> None:
        from matplotlib.ticker import FuncFormatter

        self.figure_, area = panel_area(ax, (5.2, 5.2))
        top, bottom = area.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        self.axes_ = (top, bottom)
        top.plot([0, 1], [0, 1], ":", color=NEUTRAL, label="perfectly calibrated")
        for (name, curve), marker in zip(self.curves.items(), "os^v", strict=False):
            filled = curve.counts > 0
            top.plot(
                curve.confidence[filled],
                curve.accuracy[filled],
                f"{marker}-",
                label=f"{name}: ECE {curve.ece:.4f}, MCE {curve.mce:.3f}",
            )
            centres = (curve.edges[:-1] + curve.edges[1:]) / 2
            bottom.step(centres, curve.counts, where="mid", label=name)
        top.set_ylabel("accuracy")
        top.set_xlim(0, 1.01)
        top.set_ylim(0, 1.01)
        top.legend(frameon=False, loc="lower right", fontsize="small")
        bottom.set_yscale("log")
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        bottom.set_xlabel("confidence (top class)")
        bottom.set_ylabel("images")
        area.suptitle(self.title)


class RobustnessDisplay(Display):
    """Accuracy under each corruption as horizontal bars, worst at the bottom, with the clean accuracy as a
    line (``mnistlab robustness``)."""

    def __init__(
        self, accuracies: Mapping[str, float], clean: float, title: str = "accuracy under corruption"
    ):
        self.accuracies, self.clean, self.title = dict(accuracies), clean, title

    @classmethod
    def from_result(cls, result: Mapping) -> RobustnessDisplay:
        """From the ``robustness`` record of a run's metrics."""
        return cls(
            result["corruptions"], result["clean"], f"accuracy under corruption (mean {result['mean']:.4f})"
        )

    def _draw(self, ax) -> None:
        ordered = sorted(self.accuracies.items(), key=lambda item: item[1])
        self.figure_, self.ax_ = single_axes(ax, (7, 0.32 * len(ordered) + 1.2))
        names, values = [name.replace("_", " ") for name, _ in ordered], [value for _, value in ordered]
        colours = [WRONG if v < self.clean - 0.05 else RIGHT for v in values]
        self.ax_.barh(range(len(values)), values, color=colours)
        self.ax_.set_yticks(range(len(values)), names)
        self.ax_.axvline(self.clean, color=NEUTRAL, linestyle=":", label=f"clean {self.clean:.4f}")
        for y, value in enumerate(values):  # the number inside a long bar, after a short one
            inside = value > 0.8
            self.ax_.text(
                value - 0.01 if inside else value + 0.01,
                y,
                f"{value:.3f}",
                va="center",
                ha="right" if inside else "left",
                color="white" if inside else "black",
                fontsize="small",
            )
        self.ax_.set_xlim(0, 1)
        self.ax_.set_xlabel("test accuracy (red: more than 5 points below clean)")
        self.ax_.legend(frameon=False, loc="lower right")
        self.ax_.set_title(self.title)


class ExplanationDisplay(Display):
    """Images with an attribution map laid over each (red: pixels that raised the explained class's score, blue:
    pixels that lowered it; stronger colour, larger effect), a caption under each."""

    def __init__(self, images, maps, captions: Sequence[str], cols: int = 8, title: str = "") -> None:
        self.images, self.maps, self.captions = np.asarray(images), np.asarray(maps), list(captions)
        self.cols, self.title = cols, title

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.images) / self.cols)))
        self.figure_, area = panel_area(ax, (1.5 * self.cols, 1.75 * rows + 0.3))
        self.axes_ = _gallery(area, self.images, self.captions, "black", self.cols)
        for panel, heat in zip(self.axes_.ravel(), self.maps, strict=False):
            panel.images[0].set_alpha(0.25)  # the image faint, so that the map over its strokes shows
            scale = max(float(np.abs(heat).max()), 1e-12)
            strength = np.clip(2 * np.abs(heat) / scale, 0, 1)
            panel.imshow(heat / scale, cmap="bwr", vmin=-1, vmax=1, alpha=strength)
        if self.title:
            area.suptitle(self.title)
