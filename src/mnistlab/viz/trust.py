"""How far a model can be trusted, as figures: the reliability diagram (is a 0.9 really 90%?), accuracy under
corruption, and attribution maps of its most confident mistakes (why it said that)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.evaluation import Calibration, Evaluation, at_temperature, calibration, top_losses
from mnistlab.viz.style import NEUTRAL, RIGHT, WRONG, Display, image_gallery, panel_area, single_axes


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

    @classmethod
    def from_estimator(
        cls, estimator, evaluation: Evaluation, title: str = "reliability on the test data"
    ) -> ReliabilityDisplay:
        """The reliability of an evaluation's probabilities; for a model with a fitted temperature (a network's
        ``temperature_``), before and after it.

        Parameters
        ----------
        estimator : fitted estimator
            The model the evaluation measured; its ``temperature_``, if it has one, gives the curve before.
        evaluation : Evaluation
            Its evaluation, with probabilities.
        title : str
            The figure's title.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> from mnistlab.evaluation import Evaluation
        >>> proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
        >>> evaluation = Evaluation(["a", "b"], np.array([0, 1, 1]), proba.argmax(1), proba)
        >>> list(ReliabilityDisplay.from_estimator(SimpleNamespace(temperature_=1.5), evaluation).curves)
        ['before (T = 1)', 'after (T = 1.5)']
        """
        if evaluation.proba is None:
            raise ParameterError("a reliability diagram needs class probabilities; this model gives none")
        temperature = getattr(estimator, "temperature_", None)
        if temperature is None:
            curves = {"model": evaluation.proba}
        else:
            curves = {
                "before (T = 1)": at_temperature(evaluation.proba, temperature),
                f"after (T = {temperature:.3g})": evaluation.proba,
            }
        return cls.from_predictions(evaluation.y_true, curves, title=title)

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

    TITLE = (
        "why the top losses: integrated gradients for the predicted class (predicted / actual; red raised it)"
    )

    @staticmethod
    def can_explain(estimator) -> bool:
        """Whether ``estimator`` can explain its answers over 28x28 images: a fitted network, whose ``explain``
        gives pixel attribution maps (:meth:`mnistlab.models.TorchClassifier.explain`)."""
        return (
            callable(getattr(estimator, "explain", None))
            and getattr(estimator, "n_features_in_", None) == 784
        )

    @classmethod
    def from_estimator(cls, estimator, evaluation: Evaluation, images, k: int = 16) -> ExplanationDisplay:
        """Integrated gradients of the ``k`` most confident mistakes of an evaluation, for the class the network
        chose (why it said that), captioned "predicted / actual".

        Parameters
        ----------
        estimator : TorchClassifier
            A fitted network on 28x28 images (:meth:`can_explain`).
        evaluation : Evaluation
            Its evaluation of ``images``, with probabilities.
        images : ndarray of shape (N, 28, 28)
            The images evaluated.
        k : int
            How many of the most confident mistakes.

        Raises
        ------
        ParameterError
            For a model that cannot explain itself (:meth:`can_explain`), or an evaluation without probabilities.

        Examples
        --------
        >>> display = ExplanationDisplay.from_estimator(network, evaluation, test.images, k=8)  # doctest: +SKIP
        >>> display.save("explanations.png")  # doctest: +SKIP
        """
        if not cls.can_explain(estimator) or evaluation.proba is None:
            raise ParameterError(
                "explanations need a network on 28x28 images and class probabilities; "
                f"{type(estimator).__name__} cannot explain its answers (mnistlab models lists the networks)"
            )
        chosen = top_losses(evaluation.proba, evaluation.y_true, k)
        predicted = evaluation.proba[chosen].argmax(axis=1)
        targets = np.searchsorted(estimator.classes_, predicted)
        maps = estimator.explain(images[chosen], "integrated_gradients", targets)
        classes = evaluation.classes
        captions = [
            f"{classes[p][:9]} / {classes[t][:9]}"
            for p, t in zip(predicted, evaluation.y_true[chosen], strict=True)
        ]
        return cls(images[chosen], maps, captions, title=cls.TITLE)

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.images) / self.cols)))
        self.figure_, area = panel_area(ax, (1.5 * self.cols, 1.75 * rows + 0.3))
        self.axes_ = image_gallery(area, self.images, self.captions, "black", self.cols)
        for panel, heat in zip(self.axes_.ravel(), self.maps, strict=False):
            panel.images[0].set_alpha(0.25)  # the image faint, so that the map over its strokes shows
            scale = max(float(np.abs(heat).max()), 1e-12)
            strength = np.clip(2 * np.abs(heat) / scale, 0, 1)
            panel.imshow(heat / scale, cmap="bwr", vmin=-1, vmax=1, alpha=strength)
        if self.title:
            area.suptitle(self.title)
