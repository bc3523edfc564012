"""What a model predicted, as figures: the confusion matrix (counts, normalised, errors only), the Keras
tutorial's prediction panels, the top losses and the most-confused pairs with their images.

Each holds its values, is built by ``from_evaluation`` / ``from_predictions`` (``y_true`` before ``y_pred``
everywhere), and is drawn by ``plot(ax=None)``, as scikit-learn's displays are.

Examples
--------
>>> import numpy as np
>>> cm = ConfusionDisplay.from_predictions(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"]).plot()
>>> cm.confusion.tolist(), [t.get_text() for t in cm.ax_.texts]
([[1, 0], [1, 1]], ['1', '0', '1', '1'])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.evaluation import Evaluation, errors_only, most_confused, row_normalised, top_losses
from mnistlab.viz.style import (
    NEUTRAL,
    RIGHT,
    WRONG,
    Display,
    image_gallery,
    panel_area,
    show_image,
    single_axes,
)

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
            raise ParameterError("kind", kind, f"one of {', '.join(CONFUSION_KINDS)}")
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
        self.axes_ = image_gallery(area, self.images[self.indices], self.captions(), WRONG, self.cols)
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
