"""Calibration (ECE/MCE, temperature scaling) and conformal prediction sets: the guarantees hold on exchangeable
data, the sets equal MAPIE's, and a trained network keeps its calibration through a saved run."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.errors import ParameterError
from mnistlab.evaluation.calibration import calibration
from mnistlab.models.calibration import (
    ADAPTIVE,
    CAN_BE_EMPTY,
    DEFAULT_METHOD,
    METHODS,
    ConformalCalibration,
    empty_set_meaning,
    fit_temperature,
    prediction_sets,
)


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
@pytest.mark.parametrize("method", METHODS)
def test_sets_cover_the_true_class_at_the_promised_rate(alpha, method):
    """10 seeds of 2000 calibration and 5000 test images (fixed seeds: not flaky): the mean coverage is not below
    1 - alpha by more than 3 standard errors of that mean (with class-conditional sets, in every class); split
    and class-conditional sets are not far above it either (not simply larger than needed)."""
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
    if method in CAN_BE_EMPTY:
        assert coverages[:, 0].mean() < 1 - alpha + 0.02
    else:  # a never-empty set adds classes: it may over-cover, but not hold everything
        assert coverages[:, 0].mean() < 1


def over_sure_task(n: int, seed: int):
    """A 94%-accurate, over-confident model's probabilities: its 90% split sets are often empty (7.6%)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    logits = rng.normal(0, 1, (n, 10))
    right = rng.random(n) < 0.97
    logits[np.arange(n), np.where(right, y, (y + 1) % 10)] += rng.uniform(2, 12, n)
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True), y


@pytest.mark.parametrize("method", [m for m in METHODS if m not in CAN_BE_EMPTY])
def test_the_never_empty_sets_hold_the_top_class(method):
    """Where split (LAC) sets are often empty (a model more accurate than 1 - alpha), the never-empty methods
    hold at least one class in every set, and the most probable class in every set."""
    proba, y = over_sure_task(6000, seed=0)
    held_out = ConformalCalibration.from_probabilities(proba[:2000], y[:2000])
    top = proba[2000:].argmax(axis=1)
    for alpha in (0.1, 0.2, 0.5):
        lac = prediction_sets(proba[2000:], held_out, alpha, "split")
        assert (lac.sum(axis=1) == 0).mean() > 0.01, "the case this test is about: LAC gives empty sets"
        sets = prediction_sets(proba[2000:], held_out, alpha, method)
        assert sets.sum(axis=1).min() >= 1
        assert sets[np.arange(4000), top].all()
        if method == "split-nonempty":  # LAC's sets with the top class added, nothing else
            assert np.array_equal(sets, lac | np.eye(10, dtype=bool)[top])


def test_the_default_sets_are_never_empty():
    assert DEFAULT_METHOD not in CAN_BE_EMPTY
    proba, y = over_sure_task(3000, seed=1)
    held_out = ConformalCalibration.from_probabilities(proba[:1000], y[:1000])
    assert (prediction_sets(proba[1000:], held_out, 0.1, "split").sum(axis=1) == 0).any()
    assert prediction_sets(proba[1000:], held_out, 0.1).any(axis=1).all()
    assert empty_set_meaning(0.1).startswith("An empty 90% set")


def test_the_sets_are_mapies():
    """MAPIE (BSD-3) with a prefitted model gives the very same sets: LAC as ours, and APS and RAPS as computed
    by MAPIE from the held-out probabilities alone (without the model or its inputs, as a saved run must)."""
    from mapie.classification import SplitConformalClassifier
    from mapie.conformity_scores import RAPSConformityScore
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + rng.normal(0, 1, 3000) > 0).astype(int) + (X[:, 1] > 0.5)
    model = LogisticRegression().fit(X[:1000], y[:1000])
    held_out = ConformalCalibration.from_probabilities(model.predict_proba(X[1000:2000]), y[1000:2000])
    for alpha in (0.05, 0.1, 0.3):
        for ours, score in (("split", "lac"), ("aps", "aps"), ("raps", RAPSConformityScore(size_raps=0.2))):
            mapie = SplitConformalClassifier(
                model, confidence_level=1 - alpha, conformity_score=score, prefit=True, random_state=0
            )
            mapie.conformalize(X[1000:2000], y[1000:2000])
            theirs = mapie.predict_set(X[2000:])[1][:, :, 0]
            assert np.array_equal(
                prediction_sets(model.predict_proba(X[2000:]), held_out, alpha, ours), theirs
            ), (
                alpha,
                ours,
            )


@pytest.mark.parametrize("method", ["lac", "APS", "", None, 1])
def test_an_unknown_method_is_refused_with_the_list(method):
    held_out = ConformalCalibration.from_probabilities(np.array([[0.9, 0.1]] * 5), np.zeros(5, int))
    with pytest.raises(
        ParameterError, match="expected one of split-nonempty, split, class-conditional, aps, raps"
    ):
        prediction_sets(np.array([[0.5, 0.5]]), held_out, 0.1, method)


@pytest.mark.parametrize("method", ADAPTIVE)
def test_adaptive_sets_need_the_held_out_probabilities(method):
    """A calibration read from a run saved before format 3 (scores and labels only) gives the split sets and
    refuses APS / RAPS with the reason and the methods it can give."""
    proba, y = over_sure_task(500, seed=2)
    full = ConformalCalibration.from_probabilities(proba[:300], y[:300])
    old = ConformalCalibration(full.scores, full.labels, full.n_classes)
    assert np.array_equal(prediction_sets(proba[300:], old, 0.1), prediction_sets(proba[300:], full, 0.1))
    with pytest.raises(ParameterError, match=f"method='{method}' needs .*format 3.*split-nonempty, split"):
        prediction_sets(proba[300:], old, 0.1, method)


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
    with pytest.raises(
        ParameterError, match="method='lac'; expected one of split-nonempty, split, class-cond"
    ):
        TorchClassifier("mlp", epochs=1, validation_split=0.3, threads=1).fit(X, y).predict_set(
            X, method="lac"
        )


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
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
            assert set(sets) == {f"{a} {m}" for a in ("0.01", "0.05", "0.1", "0.2") for m in METHODS}
            assert recorded["conformal"]["default_method"] == "split-nonempty"
            assert all(sets[f"{a} {m}"]["empty"] == 0 for a in ("0.01", "0.1") for m in ("aps", "raps"))
            assert sets["0.01 split"]["mean_size"] >= sets["0.2 split"]["mean_size"]
            assert 'id="conformal"' in page and "conformal sets, alpha 0.1 (split): coverage" in card
            assert "explanations.png" in metrics["figures"] and "Why: integrated gradients" in page
        else:  # scikit-learn: measured, but nothing to calibrate sets on
            assert "conformal" not in recorded and "temperature" not in recorded["calibration"]
            assert "No conformal prediction sets" in page and "explanations.png" not in metrics["figures"]


def test_a_run_keeps_the_validation_probabilities_for_adaptive_sets(tmp_path, blobs):
    from mnistlab import runs
    from mnistlab.models import TorchClassifier

    X, y = blobs(400)
    clf = TorchClassifier("mlp", epochs=3, validation_split=0.25, threads=1).fit(X, y)
    assert clf.conformal_.probabilities.shape == (100, 3)
    runs.save(tmp_path / "run", clf, model="mlp", data="blobs", classes=["a", "b", "c"])
    assert runs.read_config(tmp_path / "run")["format"] == 3
    loaded = runs.load(tmp_path / "run")
    for method in METHODS:
        assert np.array_equal(loaded.predict_set(X, 0.1, method), clf.predict_set(X, 0.1, method)), method
    assert np.array_equal(runs.read_conformal(tmp_path / "run").probabilities, clf.conformal_.probabilities)


def make_format_2(run) -> None:
    """Turn a run into what mnistlab wrote before format 3: no validation probabilities, format 2."""
    import json

    from safetensors.torch import load_file, save_file

    from mnistlab import runs

    weights = run / runs.WEIGHTS
    state = load_file(str(weights))
    del state["calibration.conformal_probabilities"]
    save_file(state, str(weights), metadata={"format": "2"})
    config = json.loads((run / runs.CONFIG).read_text())
    (run / runs.CONFIG).write_text(json.dumps({**config, "format": 2}))


def test_a_run_saved_before_format_3_still_loads_and_gives_sets(tmp_path, blobs):
    """Format 2 runs (scores and labels, no probabilities) load, give split-nonempty, split and class-conditional
    sets as before, refuse APS / RAPS with the reason, and evaluate reports the methods they can give."""
    from mnistlab import runs
    from mnistlab.evaluation import evaluate_estimator, trust_numbers
    from mnistlab.models import TorchClassifier

    X, y = blobs(400)
    clf = TorchClassifier("mlp", epochs=3, validation_split=0.25, threads=1).fit(X, y)
    runs.save(tmp_path / "run", clf, model="mlp", data="blobs", classes=["a", "b", "c"])
    make_format_2(tmp_path / "run")
    old = runs.load(tmp_path / "run")
    assert (
        old.conformal_.probabilities is None and runs.read_conformal(tmp_path / "run").probabilities is None
    )
    for method in ("split-nonempty", "split", "class-conditional"):
        assert np.array_equal(old.predict_set(X, 0.1, method), clf.predict_set(X, 0.1, method)), method
    assert old.predict_set(X).any(axis=1).all()
    with pytest.raises(ParameterError, match="method='aps' needs the validation split's probabilities"):
        old.predict_set(X, method="aps")
    measured = trust_numbers(old, evaluate_estimator(old, X, y, ["a", "b", "c"]))
    assert {key.split()[1] for key in measured["conformal"]["sets"]} == {
        "split-nonempty",
        "split",
        "class-conditional",
    }
    runs.save(
        tmp_path / "again", old, model="mlp", data="blobs", classes=["a", "b", "c"]
    )  # saved again: fine
    assert runs.load(tmp_path / "again").conformal_.probabilities is None


def test_a_run_with_edited_conformal_probabilities_is_refused(tmp_path, blobs):
    from safetensors.torch import load_file, save_file

    from mnistlab import runs
    from mnistlab.errors import RunError
    from mnistlab.models import TorchClassifier

    X, y = blobs(200)
    clf = TorchClassifier("mlp", epochs=1, validation_split=0.25, threads=1).fit(X, y)
    runs.save(tmp_path / "run", clf, model="mlp", data="blobs", classes=["a", "b", "c"])
    weights = tmp_path / "run" / runs.WEIGHTS
    state = load_file(str(weights))
    state["calibration.conformal_probabilities"] = state["calibration.conformal_probabilities"].flip(1)
    save_file(state, str(weights))
    with pytest.raises(RunError, match="conformal probabilities .* disagree with its scores"):
        runs.load(tmp_path / "run")
    state["calibration.conformal_probabilities"] = state["calibration.conformal_probabilities"][
        :, :2
    ].contiguous()
    save_file(state, str(weights))
    with pytest.raises(RunError, match="conformal calibration does not fit the model's 3 classes"):
        runs.read_conformal(tmp_path / "run")


def test_the_reliability_figure_of_a_model_shows_it_before_and_after_its_temperature():
    from types import SimpleNamespace

    from mnistlab import viz
    from mnistlab.evaluation import Evaluation, at_temperature, calibration

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=200)
    y = rng.integers(0, 3, 200)
    evaluation = Evaluation(["a", "b", "c"], y, proba.argmax(1), proba)
    network = viz.ReliabilityDisplay.from_estimator(SimpleNamespace(temperature_=2.0), evaluation)
    assert list(network.curves) == ["before (T = 1)", "after (T = 2)"]
    assert network.curves["before (T = 1)"].ece == calibration(y, at_temperature(proba, 2.0)).ece
    assert network.curves["after (T = 2)"].ece == calibration(y, proba).ece
    assert network.title == "reliability on the test data"
    forest = viz.ReliabilityDisplay.from_estimator(SimpleNamespace(), evaluation)  # no temperature: measured
    assert list(forest.curves) == ["model"] and forest.curves["model"].ece == calibration(y, proba).ece
    with pytest.raises(ParameterError, match="needs class probabilities"):
        viz.ReliabilityDisplay.from_estimator(SimpleNamespace(), Evaluation(["a", "b", "c"], y, y))
