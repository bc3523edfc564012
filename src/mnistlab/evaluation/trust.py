"""How far a split can trust a model's probabilities, as numbers: calibration errors (before and after a
network's temperature) and the coverage and size of conformal prediction sets at several miscoverage rates; what
``evaluate`` records in ``metrics.json`` and the model card shows.
"""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.evaluation.calibration import at_temperature, calibration
from mnistlab.evaluation.conformal import ADAPTIVE, DEFAULT_METHOD, METHODS, prediction_sets
from mnistlab.evaluation.metrics import Evaluation

ALPHAS = (0.01, 0.05, 0.1, 0.2)  # the miscoverage rates evaluate reports conformal sets at


def trust_numbers(estimator, evaluation: Evaluation) -> dict:
    """How far a split can trust a model's probabilities.

    Parameters
    ----------
    estimator : fitted estimator
        The model evaluated; a network's ``temperature_`` gives the calibration before it, its ``conformal_``
        (:class:`~mnistlab.evaluation.conformal.ConformalCalibration`, from its validation split) the sets.
    evaluation : Evaluation
        Its evaluation of the split (the test split, for ``evaluate``).

    Returns
    -------
    dict
        ``calibration`` (ECE and MCE, 15 bins; with a temperature, also it and the ECE before it) and
        ``conformal`` (per alpha of :data:`ALPHAS` and method: coverage, mean set size, share of empty sets, the
        lowest class's coverage). Empty where the model gives no probabilities, no ``conformal`` where it has
        no sets; a run saved before format 3 (no validation probabilities) has no APS / RAPS rows.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from mnistlab.evaluation.conformal import ConformalCalibration
    >>> proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]] * 10)
    >>> y = np.array([0, 1, 2, 1] * 10)
    >>> network = SimpleNamespace(conformal_=ConformalCalibration.from_probabilities(proba, y), temperature_=None)
    >>> numbers = trust_numbers(network, Evaluation(["a", "b", "c"], y, proba.argmax(1), proba))
    >>> round(numbers["calibration"]["ece"], 3), numbers["conformal"]["sets"]["0.2 split"]["coverage"]
    (0.35, 1.0)
    """
    if evaluation.proba is None:
        return {}
    measured = calibration(evaluation.y_true, evaluation.proba)
    out: dict = {"calibration": {"ece": measured.ece, "mce": measured.mce, "bins": len(measured.counts)}}
    temperature = getattr(estimator, "temperature_", None)
    if temperature is not None:
        before = calibration(evaluation.y_true, at_temperature(evaluation.proba, temperature))
        out["calibration"].update(temperature=temperature, before={"ece": before.ece, "mce": before.mce})
    held_out = getattr(estimator, "conformal_", None)
    if (
        held_out is None or held_out.n_classes != evaluation.proba.shape[1]
    ):  # none, or fewer classes than the data
        return out
    y, sets_at = evaluation.y_true, {}
    methods = [m for m in METHODS if held_out.probabilities is not None or m not in ADAPTIVE]
    for alpha in ALPHAS:
        for method in methods:
            try:
                sets = prediction_sets(evaluation.proba, held_out, alpha, method)
            except (
                ParameterError
            ):  # RAPS on a validation split too small to tune it: no row, not a failed evaluate
                continue
            covered = sets[np.arange(len(y)), y]
            sets_at[f"{alpha:g} {method}"] = {
                "coverage": float(covered.mean()),
                "mean_size": float(sets.sum(axis=1).mean()),
                "empty": float((sets.sum(axis=1) == 0).mean()),
                "lowest_class_coverage": float(min(covered[y == k].mean() for k in np.unique(y))),
            }
    out["conformal"] = {
        "calibrated_on": f"the validation split, {len(held_out.scores)} images",
        "default_method": DEFAULT_METHOD,
        "sets": sets_at,
    }
    return out
