"""Calibration (ECE/MCE, temperature scaling) and conformal prediction sets: the guarantees hold on exchangeable
data, the sets equal MAPIE's, and a trained network keeps its calibration through a saved run."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.errors import ParameterError
from mnistlab.evaluation.calibration import calibration
from mnistlab.models.calibration import ConformalCalibration, fit_temperature, prediction_sets


def softmax_task(n: int, n_classes: int = 5, scale: float = 2.0, seed: int = 0):
    """Logits and labels drawn from softmax(logits): probabilities that are right by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, (n, n_classes))
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = (rng.random((n, 1)) > proba.cumsum(1)).sum(1)
    return logits, proba, np.minimum(labels, n_classes - 1)


def test_calibrated_probabilities_have_a_small_ece_and_over_sure_ones_a_large_one():
    logits, proba, y = softmax_task(20000)
    sure = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)
    good, bad = calibration(y, proba), calibration(y, sure)
    assert good.ece < 0.015 and bad.ece > 0.1 and bad.mce >= bad.ece
    assert good.counts.sum() == 20000 and len(good.counts) == 15


def test_temperature_scaling_undoes_over_confidence_and_keeps_the_predictions():
    logits, _, y = softmax_task(20000, seed=1)
    temperature = fit_temperature(3 * logits, y)
    assert temperature == pytest.approx(3, rel=0.05)
    scaled = 3 * logits / temperature
    assert np.array_equal(scaled.argmax(1), logits.argmax(1))


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
@pytest.mark.parametrize("method", ["split", "class-conditional"])
def test_sets_cover_the_true_class_at_the_promised_rate(alpha, method):
    """10 seeds of 2000 calibration and 5000 test images: the mean coverage is not below 1 - alpha by more
    than 3 standard errors of that mean (with class-conditional sets, in every class), and it is not far above
    either (the sets are not simply larger than needed)."""
    coverages = []
    for seed in range(10):
        _, proba, y = softmax_task(7000, seed=seed)
        held_out = ConformalCalibration.from_probabilities(proba[:2000], y[:2000])
        sets = prediction_sets(proba[2000:], held_out, alpha, method)
        covered = sets[np.arange(5000), y[2000:]]
        coverages.append([covered.mean()] + [covered[y[2000:] == k].mean() for k in range(5)])
    coverages = np.array(coverages)
    checked = coverages if method == "class-conditional" else coverages[:, :1]
    error = checked.std(axis=0, ddof=1) / np.sqrt(len(checked))
    assert np.all(checked.mean(axis=0) >= 1 - alpha - 3 * error), checked.mean(axis=0)
    assert coverages[:, 0].mean() < 1 - alpha + 0.02


def test_the_sets_are_mapies():
    """MAPIE (BSD-3) with a prefitted model and the "lac" score gives the very same sets."""
    pytest.importorskip("mapie")
    from mapie.classification import SplitConformalClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + rng.normal(0, 1, 3000) > 0).astype(int) + (X[:, 1] > 0.5)
    model = LogisticRegression().fit(X[:1000], y[:1000])
    for alpha in (0.05, 0.1, 0.3):
        mapie = SplitConformalClassifier(
            model, confidence_level=1 - alpha, conformity_score="lac", prefit=True
        )
        mapie.conformalize(X[1000:2000], y[1000:2000])
        theirs = mapie.predict_set(X[2000:])[1][:, :, 0]
        held_out = ConformalCalibration.from_probabilities(model.predict_proba(X[1000:2000]), y[1000:2000])
        ours = prediction_sets(model.predict_proba(X[2000:]), held_out, alpha)
        assert np.array_equal(ours, theirs), alpha


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.1", True, float("nan")])
def test_an_impossible_alpha_is_refused(alpha):
    held_out = ConformalCalibration.from_probabilities(np.array([[0.9, 0.1]] * 5), np.zeros(5, int))
    with pytest.raises(ParameterError, match="alpha=.*expected a miscoverage rate between 0 and 1"):
        prediction_sets(np.array([[0.5, 0.5]]), held_out, alpha)


def test_a_network_is_calibrated_on_its_validation_split_and_keeps_it_in_its_run(tmp_path, blobs):
    from mnistlab import runs
    from mnistlab.models import TorchClassifier

    X, y = blobs(400)
    clf = TorchClassifier("mlp", epochs=3, validation_split=0.25, label_smoothing=0.2, threads=1).fit(X, y)
    assert clf.temperature_ != 1.0 and len(clf.conformal_.scores) == 100
    logits = clf.decision_function(X[:5])
    expected = np.exp(logits / clf.temperature_)
    assert np.allclose(clf.predict_proba(X[:5]), expected / expected.sum(1, keepdims=True))
    runs.save(tmp_path / "run", clf, model="mlp", data="blobs", classes=["a", "b", "c"])
    loaded = runs.load(tmp_path / "run")
    assert loaded.temperature_ == clf.temperature_
    assert np.array_equal(loaded.predict_set(X, 0.1), clf.predict_set(X, 0.1))
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_run_with_damaged_conformal_scores_is_refused(tmp_path, blobs):
    from safetensors.torch import load_file, save_file

    from mnistlab import runs
    from mnistlab.errors import RunError
    from mnistlab.models import TorchClassifier

    X, y = blobs(200)
    clf = TorchClassifier("mlp", epochs=1, validation_split=0.25, threads=1).fit(X, y)
    runs.save(tmp_path / "run", clf, model="mlp", data="blobs", classes=["a", "b", "c"])
    weights = tmp_path / "run" / runs.WEIGHTS
    state = load_file(str(weights))
    state["calibration.conformal_scores"][3] = float("nan")  # would make every prediction set empty
    save_file(state, str(weights))
    with pytest.raises(RunError, match="conformal scores are not all in 0..1"):
        runs.load(tmp_path / "run")
    with pytest.raises(RunError, match="conformal scores are not all in 0..1"):
        runs.read_conformal(tmp_path / "run")


def test_without_a_validation_split_there_are_no_sets_and_no_temperature(blobs):
    from mnistlab.models import TorchClassifier

    X, y = blobs(100)
    clf = TorchClassifier("mlp", epochs=1, threads=1).fit(X, y)
    assert clf.temperature_ == 1.0
    with pytest.raises(ParameterError, match="trained without a validation split"):
        clf.predict_set(X)
    with pytest.raises(ParameterError, match="method='aps'; expected one of split, class-conditional"):
        TorchClassifier("mlp", epochs=1, validation_split=0.3, threads=1).fit(X, y).predict_set(
            X, method="aps"
        )


def test_evaluate_and_the_report_show_calibration_sets_and_a_model_card(tmp_path, blobs):
    from mnistlab import datasets
    from mnistlab.datasets import Dataset
    from mnistlab.workflows import evaluate_run, report_run, train_model

    X, y = blobs(600)
    datasets.export(Dataset(X, y, ["a", "b", "c"], "bands", "train"), tmp_path / "d", "npz")
    data = tmp_path / "d" / "train.npz"
    for model in ("mlp", "logreg"):
        params = {"epochs": 3, "threads": 1} if model == "mlp" else {}
        train_model(data, model, test_fraction=0.3, params=params, out=tmp_path / model, verbose=0)
        metrics = evaluate_run(tmp_path / model)
        recorded = metrics["evaluation"]
        assert 0 <= recorded["calibration"]["ece"] <= 1 and "reliability.png" in metrics["figures"]
        card = (tmp_path / model / "model_card.md").read_text()
        for heading in (
            "## Intended use",
            "## Data",
            "## Training",
            "## Test metrics",
            "## Robustness",
            "## Known limits",
        ):
            assert heading in card, (model, heading)
        page = report_run(tmp_path / model).read_text()
        assert "Can its probabilities be trusted?" in page and "Model card" in page
        if model == "mlp":  # a network: temperature and conformal sets from its validation split
            assert recorded["calibration"]["temperature"] > 0 and "before" in recorded["calibration"]
            sets = recorded["conformal"]["sets"]
            assert set(sets) == {
                f"{a} {m}" for a in ("0.01", "0.05", "0.1", "0.2") for m in ("split", "class-conditional")
            }
            assert sets["0.01 split"]["mean_size"] >= sets["0.2 split"]["mean_size"]
            assert 'id="conformal"' in page and "conformal sets, alpha 0.1 (split): coverage" in card
            assert "explanations.png" in metrics["figures"] and "Why: integrated gradients" in page
        else:  # scikit-learn: measured, but nothing to calibrate sets on
            assert "conformal" not in recorded and "temperature" not in recorded["calibration"]
            assert "No conformal prediction sets" in page and "explanations.png" not in metrics["figures"]
