"""Evaluation: metrics and error analysis on small arrays, figures, the detector study, the commands."""

import json

import numpy as np
import pytest
from PIL import Image

from mnistlab import models, runs, viz
from mnistlab.cli.main import main
from mnistlab.errors import ParameterError
from mnistlab.evaluation import (
    Evaluation,
    cross_validate_model,
    detector_study,
    errors_only,
    most_confused,
    top_losses,
)

CLASSES = ["a", "b", "c"]


def test_confusion_views_and_most_confused():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 1, 1, 1, 0, 0, 2])
    ev = Evaluation(CLASSES, y_true, y_pred)
    assert ev.confusion.tolist() == [[2, 1, 1], [0, 3, 0], [2, 0, 1]]
    errors = errors_only(ev.confusion)
    assert np.allclose(np.diag(errors), 0) and errors[2, 0] == pytest.approx(2 / 3)
    assert most_confused(ev.confusion, CLASSES) == [("c", "a", 2), ("a", "b", 1), ("a", "c", 1)]
    record = ev.to_dict()
    assert record["accuracy"] == 0.6 and record["report"]["b"]["recall"] == 1.0
    assert record["report"]["a"]["precision"] == pytest.approx(0.5)
    json.dumps(record)  # JSON-ready


def test_top_losses_puts_confident_mistakes_first():
    proba = np.array([[0.9, 0.1], [0.01, 0.99], [0.6, 0.4], [0.2, 0.8]])
    assert top_losses(proba, np.array([0, 0, 1, 1]), k=3).tolist() == [1, 2, 3]


def test_cross_validation_matches_sklearn(blobs):
    from sklearn.model_selection import cross_val_predict, cross_val_score

    X, y = blobs(150)
    X[:, :, :] = np.random.default_rng(0).integers(0, 255, X.shape)  # hard task: scores differ across folds
    est = models.create("sgd")
    result = cross_validate_model(est, X, y == 1, folds=3, binary_scores=True)
    np.testing.assert_array_equal(result.scores, cross_val_score(est, X, y == 1, cv=3))
    np.testing.assert_array_equal(result.predictions, cross_val_predict(est, X, y == 1, cv=3))
    np.testing.assert_allclose(
        result.decision_scores, cross_val_predict(est, X, y == 1, cv=3, method="decision_function")
    )


def test_detector_study_threshold_for_target_precision(blobs):
    X, y = blobs(300)
    rng = np.random.default_rng(1)
    X = np.clip(X.astype(int) + rng.integers(-250, 250, X.shape), 0, 255).astype(np.uint8)  # overlap classes
    results = detector_study(
        {"logreg": models.create("logreg"), "never": models.create("dummy-negative")}, X, y, 1
    )
    summary = results["logreg"].to_dict()
    assert {
        "cv_accuracy",
        "confusion_matrix",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "average_precision",
    } <= set(summary)
    assert results["never"].to_dict()["recall"] == 0.0
    scores, truth = results["logreg"].scores, results["logreg"].y_true
    for goal in (0.9, 0.99):
        chosen = results["logreg"].threshold_for(precision=goal)
        brute = min(
            t for t in np.unique(scores) if truth[scores >= t].mean() >= goal
        )  # lowest threshold reaching it
        assert chosen["threshold"] == brute and chosen["precision"] >= goal
        assert chosen["recall"] == pytest.approx(truth[scores >= brute].sum() / truth.sum())
    by_recall = results["logreg"].threshold_for(recall=0.95)
    brute = max(t for t in np.unique(scores) if truth[scores >= t].sum() / truth.sum() >= 0.95)
    assert by_recall["threshold"] == brute


def test_displays_hold_values_and_draw(tmp_path, blobs):
    X, y = blobs(60)
    proba = np.full((60, 3), 0.1)
    proba[np.arange(60), (y + np.arange(60) % 2) % 3] = 0.8  # half right, half wrong
    ev = Evaluation(CLASSES, y, proba.argmax(1), proba)
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "train_accuracy": 1 - 1 / e,
            "val_loss": 1.2 / e,
            "val_accuracy": 1 - 1.2 / e,
        }
        for e in range(1, 4)
    ]
    displays = {
        "panel": viz.PredictionGridDisplay.from_evaluation(ev, X, n=6),
        "cm": viz.ConfusionDisplay.from_evaluation(ev, "counts"),
        "errors": viz.ConfusionDisplay.from_predictions(y, proba.argmax(1), CLASSES, "errors"),
        "losses": viz.TopLossesDisplay.from_evaluation(ev, X, k=8),
        "confused": viz.MostConfusedDisplay.from_predictions(X, y, proba.argmax(1), CLASSES, top=2),
        "curves": viz.LearningCurveDisplay.from_history(history),
    }
    for name, display in displays.items():
        path = display.save(tmp_path / f"{name}.png")
        assert Image.open(path).size[0] > 300
    cm = displays["cm"]
    np.testing.assert_array_equal(cm.confusion, ev.confusion)
    assert [t.get_text() for t in cm.ax_.texts][:3] == [str(v) for v in ev.confusion[0]], (
        "counts in the cells"
    )
    errors = displays["errors"].values
    assert np.allclose(np.diag(errors), 0) and np.allclose(errors.sum(1), 0.5), "half of each row is wrong"
    panel_captions = [ax.get_xlabel() for ax in displays["panel"].figure_.axes if ax.get_xlabel()]
    assert panel_captions[0] == "a 80% (a)" and panel_captions[1] == "c 80% (b)"
    colours = {ax.xaxis.label.get_color() for ax in displays["panel"].figure_.axes if ax.get_xlabel()}
    assert colours == {"tab:blue", "tab:red"}
    losses = displays["losses"]
    assert len(losses.indices) == 8 and all(proba[i].argmax() != y[i] for i in losses.indices)
    assert displays["confused"].pairs[0][2] == ev.confusion[~np.eye(3, dtype=bool)].max()
    one_epoch = viz.LearningCurveDisplay.from_history(history[:1]).plot()
    for panel in one_epoch.axes_[0]:  # one tick at epoch 1, not fractions of an epoch around it
        assert list(panel.get_xticks()) == [1]


def test_displays_draw_into_a_given_axes_without_global_side_effects(blobs):
    import subprocess
    import sys

    code = (
        "import sys, matplotlib\n"
        "def params(): return {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != 'backend'}\n"
        "before = params()  # reading 'backend' would import pyplot itself\n"
        "from mnistlab import viz\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported by importing viz'\n"
        "from matplotlib.figure import Figure\n"
        "fig = Figure(); left, right = fig.subplots(1, 2)\n"
        "cm = viz.ConfusionDisplay.from_predictions([0, 1, 1], [0, 1, 0], ['a', 'b']).plot(ax=left)\n"
        "curves = viz.LearningCurveDisplay.from_history([{'epoch': 1, 'train_loss': 1, 'train_accuracy': 0.5}])\n"
        "curves.plot(ax=right)\n"
        "assert cm.ax_ is left and cm.figure_ is fig and curves.figure_ is fig\n"
        "assert right not in fig.axes and len(curves.axes_.ravel()) == 2\n"
        "assert params() == before, 'style leaked into the process'\n"
        "import matplotlib.pyplot as plt\n"
        "assert plt.get_fignums() == [], 'a figure was left open in pyplot'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_bad_display_arguments_are_clear_errors():
    from mnistlab.errors import ParameterError

    with pytest.raises(ParameterError, match="kind='count'; expected one of counts, normalised, errors"):
        viz.ConfusionDisplay(np.eye(2), ["a", "b"], "count")
    no_proba = Evaluation(CLASSES, np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(ParameterError, match="need class probabilities"):
        viz.TopLossesDisplay.from_evaluation(no_proba, np.zeros((2, 28, 28)))


@pytest.mark.realdata
def test_evaluate_and_cv_commands(tmp_path, capsys, fast):
    from mnistlab.workflows import train_model

    run_dir = tmp_path / "run"
    train_model("mnist", "mlp", params={**fast, "epochs": 1}, out=run_dir, limit=2000, verbose=0)
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy 0.") and "most confused" in out and "macro avg" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["evaluation"]["confusion_matrix"]) == 10
    for figure in [
        "confusion_counts.png",
        "confusion_errors.png",
        "top_losses.png",
        "predictions.png",
        "most_confused.png",
        "learning_curves.png",
    ]:
        assert (run_dir / figure).is_file()
    assert runs.load_run(run_dir).metrics["evaluation"]["accuracy"] == metrics["test_accuracy"]
    assert main(["cv", "--data", "mnist", "--model", "naive-bayes", "--folds", "3", "--limit", "900"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("[CV] END") for line in lines) == 3, "a progress line as each fold ends"
    assert (
        len(lines[-2].split()) == 5
        and lines[-2].startswith("fold accuracy:")
        and lines[-1].startswith("mean 0.")
    )
    assert main(["detect", "--positive", "X", "--limit", "300"]) == 1
    assert "no class 'X'" in capsys.readouterr().err


def test_multilabel_study_on_separable_toy():
    from mnistlab.evaluation.studies import LABEL_FUNCTIONS, multilabel_study, multilabel_targets

    rng = np.random.default_rng(0)
    labels = np.arange(300) % 10
    images = rng.integers(0, 30, (300, 28, 28)).astype(np.uint8)
    images[np.arange(300), labels * 2, :] = 255  # one bright row per digit
    result = multilabel_study(images[:200], labels[:200], images[200:], labels[200:])
    assert result["labels"] == ["large", "odd"] and result["f1_macro"] == 1.0 and result["f1_weighted"] == 1.0
    np.testing.assert_array_equal(result["predicted"], multilabel_targets(labels[200:], LABEL_FUNCTIONS))
    custom = multilabel_study(
        images[:200], labels[:200], images[200:], labels[200:], {"zero": lambda y: y == 0}
    )
    assert custom["labels"] == ["zero"]


def test_denoise_study_improves_psnr():
    from mnistlab.evaluation.studies import add_noise, denoise_study, psnr

    rng = np.random.default_rng(0)
    prototypes = rng.integers(0, 2, (5, 28, 28)).astype(np.uint8) * 255
    clean = prototypes[np.arange(200) % 5]
    noisy = add_noise(clean, 100)
    assert noisy.dtype == np.uint8 and 45 < noisy[clean == 0].mean() < 55  # uniform 0..99 on black pixels
    result = denoise_study(clean[:150], clean[150:], amplitude=100)
    assert result["psnr_denoised"] > result["psnr_noisy"] + 10
    assert result["mse_denoised"] < result["mse_noisy"] / 10
    assert psnr(clean, clean) == float("inf")
    display = viz.DenoiseDisplay(result["noisy"], result["denoised"], clean[150:]).plot()
    assert display.axes_.shape == (3, 8)


def test_multiclass_strategies_and_class_scores(blobs, fast):
    from mnistlab.models import class_scores, with_strategy

    X, y = blobs(150)
    ovr = with_strategy(models.create("sgd"), "ovr").fit(X, y)
    ovo = with_strategy(models.create("linear-svc"), "ovo").fit(X, y)
    assert len(ovr[-1].estimators_) == 3 and len(ovo[-1].estimators_) == 3  # 3 classes: 3 pairs
    scores = class_scores(ovr, X[0], CLASSES)
    assert list(scores) == CLASSES and max(scores, key=scores.get) == CLASSES[ovr.predict(X[:1])[0]]
    torch_ovr = with_strategy(models.create("mlp", **fast), "ovr").fit(X, y)
    assert set(class_scores(torch_ovr, X[1], CLASSES)) == set(CLASSES)
    with pytest.raises(ParameterError, match="strategy='all'; expected one of 'native', 'ovr', 'ovo'"):
        with_strategy(models.create("sgd"), "all")
