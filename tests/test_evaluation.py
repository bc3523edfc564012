"""Evaluation: metrics and error analysis on small arrays, figures, the detector study, the commands."""

import json

import numpy as np
import pytest
from PIL import Image

from mnistlab import models, runs, viz
from mnistlab.cli.main import main
from mnistlab.evaluation import (
    Evaluation,
    cross_validate_model,
    detector_study,
    errors_only,
    most_confused,
    top_losses,
)
from tests.test_models import FAST, blobs

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


def test_cross_validation_matches_sklearn():
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


def test_detector_study_threshold_for_target_precision():
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


def test_figures_render(tmp_path):
    X, y = blobs(60)
    proba = np.full((60, 3), 0.1)
    proba[np.arange(60), (y + np.arange(60) % 2) % 3] = 0.8  # half right, half wrong
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    history = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 1 - 1 / e, "val_loss": 1.2 / e, "val_accuracy": 1 - 1.2 / e}
               for e in range(1, 4)]  # fmt: skip
    figures = {
        "panel": viz.prediction_grid(X, proba, y, CLASSES, range(6)),
        "cm": viz.confusion_matrix_figure(cm, CLASSES, "counts"),
        "errors": viz.confusion_matrix_figure(cm, CLASSES, "errors"),
        "losses": viz.top_losses_figure(X, proba, y, CLASSES, top_losses(proba, y, 8)),
        "confused": viz.most_confused_figure(
            X, y, proba.argmax(1), CLASSES, most_confused(cm, CLASSES, top=2)
        ),
        "curves": viz.learning_curves(history),
    }
    for name, fig in figures.items():
        path = viz.save_figure(fig, tmp_path / f"{name}.png")
        assert Image.open(path).size[0] > 300
    cm_axes = figures["cm"].axes[0]
    assert [t.get_text() for t in cm_axes.texts][:3] == ["5", "1", "0"], "counts written in the cells"
    panel_captions = [ax.get_xlabel() for ax in figures["panel"].axes if ax.get_xlabel()]
    assert panel_captions[0].endswith("80% (a)")
    colours = {ax.xaxis.label.get_color() for ax in figures["panel"].axes if ax.get_xlabel()}
    assert colours == {"tab:blue", "tab:red"}


@pytest.mark.realdata
def test_evaluate_and_cv_commands(tmp_path, capsys):
    from mnistlab.experiment import train_model

    run_dir = tmp_path / "run"
    train_model("mnist", "mlp", params={**FAST, "epochs": 1}, out=run_dir, limit=2000, verbose=0)
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy 0.") and "most confused" in out and "macro avg" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["evaluation"]["confusion_matrix"]) == 10
    for figure in ["confusion_counts.png", "confusion_errors.png", "top_losses.png", "predictions.png",
                   "most_confused.png", "learning_curves.png"]:  # fmt: skip
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
    from mnistlab.evaluation.extensions import LABEL_FUNCTIONS, multilabel_study, multilabel_targets

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
    from mnistlab.evaluation.extensions import add_noise, denoise_study, psnr

    rng = np.random.default_rng(0)
    prototypes = rng.integers(0, 2, (5, 28, 28)).astype(np.uint8) * 255
    clean = prototypes[np.arange(200) % 5]
    noisy = add_noise(clean, 100)
    assert noisy.dtype == np.uint8 and 45 < noisy[clean == 0].mean() < 55  # uniform 0..99 on black pixels
    result = denoise_study(clean[:150], clean[150:], amplitude=100)
    assert result["psnr_denoised"] > result["psnr_noisy"] + 10
    assert result["mse_denoised"] < result["mse_noisy"] / 10
    assert psnr(clean, clean) == float("inf")
    fig = viz.denoise_figure(result["noisy"], result["denoised"], clean[150:])
    assert len(fig.axes) == 24


def test_multiclass_strategies_and_class_scores():
    from mnistlab.evaluation import class_scores, with_strategy

    X, y = blobs(150)
    ovr = with_strategy(models.create("sgd"), "ovr").fit(X, y)
    ovo = with_strategy(models.create("linear-svc"), "ovo").fit(X, y)
    assert len(ovr[-1].estimators_) == 3 and len(ovo[-1].estimators_) == 3  # 3 classes: 3 pairs
    scores = class_scores(ovr, X[0], CLASSES)
    assert list(scores) == CLASSES and max(scores, key=scores.get) == CLASSES[ovr.predict(X[:1])[0]]
    torch_ovr = with_strategy(models.create("mlp", **FAST), "ovr").fit(X, y)
    assert set(class_scores(torch_ovr, X[1], CLASSES)) == set(CLASSES)
    with pytest.raises(ValueError, match="unknown strategy 'all'"):
        with_strategy(models.create("sgd"), "all")
