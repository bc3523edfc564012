"""The Display contract, checked once for every display (scikit-learn's common tests for its curve displays):
``plot(ax=...)`` draws into the caller's figure and returns the display with ``figure_`` set, ``plot()`` makes a
figure of its own, neither touches pyplot or the process's rcParams, and ``save`` writes a PNG atomically.

The displays are found by walking ``Display.__subclasses__()``, so a new display is checked as soon as it
exists, and this module fails until it has an example in ``EXAMPLES``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from mnistlab import viz
from mnistlab.datasets import Dataset
from mnistlab.evaluation import CrossValResult, DetectorResult, Evaluation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASSES = ["zero", "one", "two"]


def concrete_displays() -> list[type]:
    """Every public subclass of ``Display``, however deep (private bases such as ``_CurvesDisplay`` are not
    displays a user builds)."""
    found, todo = set(), [viz.Display]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__name__.startswith("_") and sub.__module__.startswith("mnistlab.viz"):
                found.add(sub)
    return sorted(found, key=lambda cls: cls.__name__)


def _images(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _evaluation(n: int = 12) -> Evaluation:
    y = np.arange(n) % 3
    proba = np.full((n, 3), 0.1)
    proba[np.arange(n), (y + np.arange(n) % 2) % 3] = 0.8  # half right, half wrong
    return Evaluation(CLASSES, y, proba.argmax(1), proba)


def _dataset() -> Dataset:
    return Dataset(_images(), np.arange(12) % 3, CLASSES, "toy")


def _detector(name: str = "toy") -> DetectorResult:
    truth = np.array([0, 0, 1, 1, 0, 1, 1, 0], bool)
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7])
    return DetectorResult(
        name, truth, CrossValResult(np.array([0.75]), scores > 0.5, scores, np.zeros(8, int))
    )


def _history() -> list[dict]:
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "train_accuracy": 1 - 1 / e,
            "val_loss": 1.2 / e,
            "val_accuracy": 0.5,
        }
        for e in (1, 2)
    ]


def _graph() -> viz.GraphDisplay:
    positions = np.random.default_rng(0).normal(size=(6, 2))
    edges = np.array([[0, 1], [1, 2], [3, 4]])
    return viz.GraphDisplay(
        positions, edges, [0, 1, 2, 0, 1, 2], [0, 1, 1, 0, 1, 2], np.arange(6), CLASSES, "g"
    )


# One small example per display: values only, no model trained.
EXAMPLES: dict[str, Callable[[], viz.Display]] = {
    "CentralImagesDisplay": lambda: viz.CentralImagesDisplay(
        _images(6), [0, 1, 2, 0, 1, 2], [0, 1, 1, 0, 1, 2], CLASSES, np.arange(6), count=4
    ),
    "ClassBalanceDisplay": lambda: viz.ClassBalanceDisplay.from_datasets(_dataset(), _dataset()),
    "ClassMeansDisplay": lambda: viz.ClassMeansDisplay.from_dataset(_dataset()),
    "ConfusionDisplay": lambda: viz.ConfusionDisplay.from_evaluation(_evaluation(), "errors"),
    "DenoiseDisplay": lambda: viz.DenoiseDisplay(_images(3), _images(3, 1), _images(3, 2), n=3),
    "ExplanationDisplay": lambda: viz.ExplanationDisplay(
        _images(3), np.random.default_rng(0).normal(size=(3, 28, 28)), ["a", "b", "c"], cols=3, title="why"
    ),
    "FeatureMapDisplay": lambda: viz.FeatureMapDisplay(
        np.random.default_rng(0).normal(size=(6, 2)), [0, 1, 2, 0, 1, 2], [0, 1, 1, 0, 1, 2], CLASSES
    ),
    "GraphDisplay": _graph,
    "GraphPanelDisplay": lambda: viz.GraphPanelDisplay(
        {("pixels", "knn"): _graph(), ("logits", "knn"): _graph()}
    ),
    "ImageGalleryDisplay": lambda: viz.ImageGalleryDisplay(
        _images(4), list("abcd"), [True, False] * 2, cols=2
    ),
    "LearningCurveDisplay": lambda: viz.LearningCurveDisplay.from_history(_history()),
    "MostConfusedDisplay": lambda: viz.MostConfusedDisplay.from_evaluation(_evaluation(), _images(), top=2),
    "PrecisionRecallCurvesDisplay": lambda: viz.PrecisionRecallCurvesDisplay.from_detectors(
        {"a": _detector("a"), "b": _detector("b")}
    ),
    "PrecisionRecallThresholdDisplay": lambda: viz.PrecisionRecallThresholdDisplay.from_detector(
        _detector(), 0.75
    ),
    "PredictionGridDisplay": lambda: viz.PredictionGridDisplay.from_evaluation(_evaluation(), _images(), n=4),
    "ReliabilityDisplay": lambda: viz.ReliabilityDisplay.from_predictions(
        _evaluation().y_true, {"model": _evaluation().proba}, bins=5
    ),
    "RobustnessDisplay": lambda: viz.RobustnessDisplay.from_result(
        {"corruptions": {"shot_noise": 0.9, "fog": 0.5}, "clean": 0.95, "mean": 0.7}
    ),
    "RocCurvesDisplay": lambda: viz.RocCurvesDisplay.from_detectors({"a": _detector()}),
    "RunComparisonDisplay": lambda: viz.RunComparisonDisplay.curves({"a": _history(), "b": _history()}),
    "SampleGridDisplay": lambda: viz.SampleGridDisplay.from_dataset(_dataset(), per_class=2),
    "SweepDisplay": lambda: viz.SweepDisplay.from_summary(
        [
            {
                "model": "knn",
                "params": "{}",
                "mean_accuracy": 0.96,
                "min_accuracy": 0.95,
                "max_accuracy": 0.97,
            },
            {
                "model": "sgd",
                "params": "{'alpha': 0.1}",
                "mean_accuracy": 0.9,
                "min_accuracy": 0.88,
                "max_accuracy": 0.91,
                "reference_accuracy": 0.9,
            },
        ]
    ),
    "TopLossesDisplay": lambda: viz.TopLossesDisplay.from_evaluation(_evaluation(), _images(), k=4),
}

DISPLAYS = concrete_displays()


@contextlib.contextmanager
def process_untouched() -> Iterator[None]:
    """Fails the test if the block opens a figure in pyplot (imported here, by the test, never by mnistlab) or
    changes the process's rcParams; a figure left open is closed, so that one failure does not spread."""
    import matplotlib.pyplot as plt

    def settings() -> dict:
        return {key: value for key, value in matplotlib.rcParams.items() if key != "backend"}

    before_figures, before_settings = plt.get_fignums(), settings()
    try:
        yield
        assert plt.get_fignums() == before_figures, "a display opened a figure in pyplot"
        assert settings() == before_settings, "a display changed the process's rcParams"
    finally:
        for number in set(plt.get_fignums()) - set(before_figures):
            plt.close(number)


def _example(cls: type) -> viz.Display:
    display = EXAMPLES[cls.__name__]()
    assert type(display) is cls, f"the example of {cls.__name__} builds a {type(display).__name__}"
    return display


def _drawn_axes(display) -> list:
    axes = [display.ax_] if getattr(display, "ax_", None) is not None else []
    return axes + list(np.ravel(getattr(display, "axes_", [])))


def test_every_display_has_an_example():
    names = {cls.__name__ for cls in DISPLAYS}
    assert len(names) >= 22, f"the displays were not found: {sorted(names)}"
    assert names - set(EXAMPLES) == set(), "a display without an example here: add one to EXAMPLES"
    assert set(EXAMPLES) - names == set(), "an example of a display that no longer exists"


@pytest.mark.parametrize("cls", DISPLAYS, ids=lambda cls: cls.__name__)
def test_plot_draws_into_the_given_axes(cls):
    fig = Figure()
    given, other = fig.subplots(1, 2)
    with process_untouched():  # building the display, too
        display = _example(cls)
        assert display.plot(ax=given) is display, "plot returns the display"
    assert display.figure_ is fig, "figure_ is the figure of the axes given"
    drawn = _drawn_axes(display)
    assert drawn, "ax_ or axes_ is set"
    for axes in drawn:
        assert axes.get_figure(root=True) is fig, "drew outside the figure of the axes given"
    assert other in fig.axes and not other.has_data(), "drew on axes it was not given"
    if given in fig.axes:  # a one-panel display draws on the axes itself (several panels take its place)
        assert given in drawn and (given.has_data() or given.texts or given.collections)


@pytest.mark.parametrize("cls", DISPLAYS, ids=lambda cls: cls.__name__)
def test_plot_without_axes_makes_a_figure_of_its_own(cls):
    display = _example(cls)
    with process_untouched():
        first = display.plot().figure_
    assert type(first) is Figure and first.axes, "a plain matplotlib Figure, drawn"
    assert all(axes.get_figure(root=True) is first for axes in _drawn_axes(display))
    with process_untouched():
        assert display.plot().figure_ is not first, (
            "each plot() draws a new figure, never pyplot's current one"
        )


@pytest.mark.parametrize("cls", DISPLAYS, ids=lambda cls: cls.__name__)
def test_save_writes_a_png_atomically(cls, tmp_path, monkeypatch):
    target = tmp_path / "figure.png"
    display = _example(cls)
    with process_untouched():
        assert display.save(target) == target
    assert target.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"], "a temporary file was left behind"

    def broken_savefig(self, fname, **kwargs):  # a write cut short: half a file, then an error
        with open(fname, "wb") as half:
            half.write(PNG_SIGNATURE[:4])
        raise OSError("cut short")

    good = target.read_bytes()
    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="cut short"):
        _example(cls).save(target)
    assert target.read_bytes() == good, "a failed save replaced the good file"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_no_display_imports_pyplot():
    """Importing pyplot picks a backend (a GUI one where a display is set) and keeps global state: a figure drawn
    in a server, a worker thread or a notebook must not bring it in. Checked in a fresh process, where nothing
    else has imported it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, tempfile\n"
        "from matplotlib.figure import Figure\n"
        "from tests.test_displays_common import DISPLAYS, _example\n"
        "folder = tempfile.mkdtemp()\n"
        "for cls in DISPLAYS:\n"
        "    _example(cls).plot(ax=Figure().subplots()).save(f'{folder}/{cls.__name__}.png')\n"
        "    _example(cls).plot()\n"
        "    assert 'matplotlib.pyplot' not in sys.modules, f'{cls.__name__} imported pyplot'\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=root
    )
    assert result.returncode == 0, result.stderr[-2000:]
