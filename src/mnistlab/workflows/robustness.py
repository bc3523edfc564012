"""``mnistlab robustness``: a run measured on corrupted copies of its test split (the MNIST-C corruptions of
:mod:`mnistlab.evaluation.corruptions`, computed on the fly and seeded)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistlab import runs
from mnistlab.errors import ParameterError
from mnistlab.evaluation import CORRUPTIONS, corrupt
from mnistlab.fileio import atomic_write, write_json
from mnistlab.params import integer, satisfies, validates
from mnistlab.reports import MODEL_CARD, model_card_text


def _check_corruptions(names: Sequence[str] | None) -> None:
    if names is None:
        return
    if (
        isinstance(names, str)
        or not isinstance(names, Sequence)
        or not all(isinstance(n, str) for n in names)
    ):
        # a text is refused, not read as its letters: "fog" is not the corruptions f, o and g
        raise ParameterError("corruptions", names, "a list of corruption names, or None for all")
    unknown = [name for name in names if name not in CORRUPTIONS]
    if unknown:
        raise ParameterError(
            "corruptions",
            list(names),
            f"names from {', '.join(CORRUPTIONS)}",
            hint=f"corruption {unknown[0]!r} does not exist",
        )


@validates(
    "robustness",
    corruptions=satisfies(
        _check_corruptions,
        "a list of corruption names, or None for all",
        breaking=(["fogg"], "fog", [3]),
        example=["fog"],
    ),
    seed=integer(low=0),
)
def robustness(
    path: str | Path, corruptions: Sequence[str] | None = None, seed: int = 0, trust: bool = False
) -> dict:
    """Accuracy of a saved run on its test split under each corruption; recorded in ``metrics.json`` under
    ``robustness`` (and so in the report and the model card), with ``robustness.png`` (accuracy per corruption)
    and ``corruptions.png`` (four test images under each).

    Parameters
    ----------
    path : str or Path
        The run folder.
    corruptions : list of str, optional
        Names from ``evaluation.corruptions.CORRUPTIONS``; all 15 by default.
    seed : int
        The corruptions' randomness (noise, angles, fog): the same seed gives the same images.
    trust : bool
        Load tree models that this machine did not save (``runs.load``).

    Returns
    -------
    dict
        ``clean`` and per-corruption accuracy, their ``mean``, the ``drop`` from clean, the three ``worst``, and
        the ``seconds`` the suite took.

    Examples
    --------
    >>> robustness("runs/cnn-mnist")["mean"]  # doctest: +SKIP
    """
    from mnistlab import viz

    names = list(corruptions) if corruptions else list(CORRUPTIONS)
    path = Path(path)
    run = runs.load_run(path, trust)
    test = runs.test_data(run)
    start = time.perf_counter()
    clean = float(np.mean(run.estimator.predict(test.images) == test.labels))
    accuracies, examples = {}, {}
    for name in names:
        corrupted = corrupt(test.images, name, seed)
        accuracies[name] = float(np.mean(run.estimator.predict(corrupted) == test.labels))
        examples[name] = corrupted[:4]
    mean = float(np.mean(list(accuracies.values())))
    result = {
        "clean": clean,
        "corruptions": accuracies,
        "mean": mean,
        "drop": clean - mean,
        "worst": sorted(accuracies.items(), key=lambda item: item[1])[:3],
        "seed": seed,
        "images": len(test),
        "seconds": round(time.perf_counter() - start, 2),
    }
    metrics = {**run.metrics, "robustness": result}
    write_json(path / runs.METRICS, metrics)
    viz.RobustnessDisplay.from_result(result).save(path / "robustness.png")
    shown = np.concatenate(list(examples.values()))
    captions = [name for name in examples for _ in range(len(examples[name]))]
    viz.ImageGalleryDisplay(shown, captions, cols=8, title="test images under each corruption").save(
        path / "corruptions.png"
    )
    if metrics.get("evaluation"):
        with atomic_write(path / MODEL_CARD) as tmp:
            tmp.write_text(model_card_text(run.config, metrics), encoding="utf-8")
    return result
