"""Evaluation figures: prediction panels (seed 000), confusion matrices, top losses, most-confused pairs,
learning curves, precision/recall against the threshold, PR and ROC curves (seed 001)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from mnistlab.evaluation.metrics import errors_only, row_normalised
from mnistlab.viz.style import NEUTRAL, RIGHT, WRONG, new_figure


def _image(ax: Axes, image: np.ndarray) -> None:
    ax.imshow(image, cmap="binary", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)


def _prediction_panel(ax_img: Axes, ax_bar: Axes, image, proba, true, classes) -> None:
    predicted = int(np.argmax(proba))
    colour = RIGHT if predicted == true else WRONG
    _image(ax_img, image)
    ax_img.set_xlabel(f"{classes[predicted]} {100 * proba[predicted]:.0f}% ({classes[true]})", color=colour)
    bars = ax_bar.bar(range(len(classes)), proba, color=NEUTRAL)
    bars[predicted].set_color(WRONG)
    bars[true].set_color(RIGHT)  # the true bar is blue; when right it hides the red one, as in seed 000
    ax_bar.set_ylim(0, 1)
    ax_bar.set_xticks(range(len(classes)), [c[:7] for c in classes], rotation=90, fontsize=6)
    ax_bar.set_yticks([])


def prediction_grid(
    images, proba, y_true, classes: Sequence[str], indices: Sequence[int], cols: int = 3
) -> Figure:
    """Seed 000's panels: image captioned "predicted NN% (true)" (blue right, red wrong) beside probability bars."""
    rows = int(np.ceil(len(indices) / cols))
    fig = new_figure(4.4 * cols, 2.1 * rows)
    axes = fig.subplots(rows, 2 * cols, squeeze=False, gridspec_kw={"width_ratios": [1, 1.2] * cols})
    for ax in axes.ravel():
        ax.axis("off")
    for n, i in enumerate(indices):
        ax_img, ax_bar = axes[n // cols, 2 * (n % cols)], axes[n // cols, 2 * (n % cols) + 1]
        ax_img.axis("on")
        ax_bar.axis("on")
        _prediction_panel(ax_img, ax_bar, images[i], proba[i], int(y_true[i]), list(classes))
    return fig


def confusion_matrix_figure(
    cm: np.ndarray, classes: Sequence[str], kind: str = "counts", title: str = ""
) -> Figure:
    """``counts`` (numbers in cells), ``normalised`` (rows sum to 1) or ``errors`` (normalised, diagonal zeroed)."""
    values = {"counts": cm, "normalised": row_normalised(cm), "errors": errors_only(cm)}[kind]
    size = max(5.0, 0.6 * len(classes) + 2)
    fig = new_figure(size + 1, size)
    ax = fig.subplots()
    display = ConfusionMatrixDisplay(values, display_labels=list(classes))
    display.plot(ax=ax, cmap="Blues" if kind != "errors" else "Reds", colorbar=True,
                 values_format="d" if kind == "counts" else ".2f", xticks_rotation=45)  # fmt: skip
    if len(classes) > 12:
        for text in display.text_.ravel():
            text.set_visible(False)
    ax.set_title(title or {"counts": "confusion matrix", "normalised": "confusion matrix (rows sum to 1)",
                           "errors": "errors only (row-normalised, diagonal zeroed)"}[kind])  # fmt: skip
    return fig


def image_gallery(images, captions: Sequence[str], colours: Sequence[str] | None = None, cols: int = 8,
                  title: str = "") -> Figure:  # fmt: skip
    """A grid of images with a caption under each."""
    rows = max(1, int(np.ceil(len(images) / cols)))
    fig = new_figure(1.5 * cols, 1.75 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for n, (ax, image) in enumerate(zip(axes.ravel(), images, strict=False)):
        _image(ax, image)
        ax.axis("on")
        ax.set_xlabel(captions[n], fontsize=7, color=colours[n] if colours else "black")
    if title:
        fig.suptitle(title)
    return fig


def top_losses_figure(images, proba, y_true, classes: Sequence[str], indices: Sequence[int]) -> Figure:
    """The most confident mistakes: "predicted / actual / loss / probability of the actual class"."""
    captions = []
    for i in indices:
        p = int(np.argmax(proba[i]))
        loss = -np.log(max(proba[i][y_true[i]], 1e-12))
        captions.append(
            f"{classes[p][:9]} / {classes[y_true[i]][:9]}\nloss {loss:.1f}, p {proba[i][y_true[i]]:.2f}"
        )
    return image_gallery(images[list(indices)], captions, [WRONG] * len(indices),
                         title="top losses: predicted / actual")  # fmt: skip


def most_confused_figure(
    images, y_true, y_pred, classes: Sequence[str], pairs: Sequence[tuple], per_pair: int = 6
) -> Figure:
    """For each (actual, predicted, count) pair, examples of that mistake."""
    rows = len(pairs)
    fig = new_figure(1.3 * per_pair + 1.8, 1.4 * rows + 0.4)
    axes = fig.subplots(max(rows, 1), per_pair, squeeze=False)
    for r, (actual, predicted, count) in enumerate(pairs):
        a, p = list(classes).index(actual), list(classes).index(predicted)
        examples = np.flatnonzero((y_true == a) & (y_pred == p))[:per_pair]
        for c in range(per_pair):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(examples):
                _image(ax, images[examples[c]])
                ax.axis("on")
        axes[r, 0].set_ylabel(
            f"{actual} -> {predicted}\n({count})", fontsize=8, rotation=0, ha="right", va="center"
        )
        axes[r, 0].axis("on")
    fig.suptitle("most confused: actual -> predicted (count)")
    return fig


def learning_curves(history: Sequence[dict], title: str = "") -> Figure:
    """Loss and accuracy per epoch, training and validation (seed 002)."""
    fig = new_figure(9, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [row["epoch"] for row in history]
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], "o-", label=f"train {key}")
        if history and f"val_{key}" in history[0]:
            ax.plot(epochs, [row[f"val_{key}"] for row in history], "s-", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend(frameon=False)
    fig.suptitle(title or "learning curves")
    return fig


def precision_recall_threshold_figure(
    precision, recall, thresholds, threshold: float | None = None
) -> Figure:
    """Precision and recall against the decision threshold (seed 001), with a chosen threshold marked."""
    fig = new_figure(8, 3.6)
    ax = fig.subplots()
    ax.plot(thresholds, precision[:-1], "--", color=RIGHT, label="precision")
    ax.plot(thresholds, recall[:-1], "-", color="tab:green", label="recall")
    if threshold is not None:
        ax.axvline(threshold, color=NEUTRAL, linestyle=":", label=f"threshold {threshold:.0f}")
    ax.set_xlabel("threshold")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="center left")
    ax.set_title("precision and recall against the decision threshold")
    return fig


def _curves_figure(curves: dict[str, dict], x: str, y: str, labels: dict[str, str], axis_names: tuple[str, str],
                   title: str, legend_loc: str) -> tuple[Figure, Axes]:  # fmt: skip
    """One line per detector, ``curves[name][x]`` against ``curves[name][y]``, on shared unit axes."""
    fig = new_figure(5.2, 4.6)
    ax = fig.subplots()
    for name, c in curves.items():
        ax.plot(c[x], c[y], label=labels[name])
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc=legend_loc)
    ax.set_title(title)
    return fig, ax


def pr_curves_figure(curves: dict[str, dict], average_precision: dict[str, float]) -> Figure:
    """Precision against recall for one or more detectors on the same axes."""
    labels = {name: f"{name} (AP {average_precision[name]:.3f})" for name in curves}
    fig, _ = _curves_figure(curves, "recall", "precision", labels, ("recall", "precision"),
                            "precision-recall curve", "lower left")  # fmt: skip
    return fig


def roc_curves_figure(curves: dict[str, dict], auc: dict[str, float]) -> Figure:
    """ROC curves of one or more detectors, with the chance diagonal."""
    labels = {name: f"{name} (AUC {auc[name]:.4f})" for name in curves}
    fig, ax = _curves_figure(curves, "fpr", "tpr", labels, ("false positive rate", "true positive rate (recall)"),
                             "ROC curve", "lower right")  # fmt: skip
    ax.plot([0, 1], [0, 1], ":", color=NEUTRAL, label="chance")
    ax.legend(frameon=False, loc="lower right")
    return fig


def denoise_figure(noisy, denoised, clean, n: int = 8) -> Figure:
    """Rows of noisy input, model output and the clean original (seed 001's multi-output example)."""
    n = min(n, len(clean))
    fig = new_figure(1.3 * n + 1.2, 4.3)
    axes = fig.subplots(3, n, squeeze=False)
    for row, (name, images) in enumerate((("noisy", noisy), ("denoised", denoised), ("clean", clean))):
        for c in range(n):
            _image(axes[row, c], images[c])
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle("denoising: noisy in, clean out")
    return fig
