"""``health`` on a user's own small data (issue 35): the judge of the labels fits the data and says how well it
judges, a judge too weak to judge gives no verdict, ``--test`` checks a second file (with leakage), a class-folder
layout read in class order is not "non-IID order", and the class-imbalance score says what it is."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets, quality
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
from mnistlab.quality.planted import flip_labels


def small_digits(n: int = 1400, flips: int = 28, seed: int = 0):
    """scikit-learn's 8x8 ``load_digits`` (bundled, no download) upscaled 2.5x and padded to 28x28, the issue's
    own example of a user's small data set: ``n`` images, ``flips`` labels changed. Returns the images, the
    noisy labels and which were flipped."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.clip(zoom(digits.images, (1, 2.5, 2.5), order=1) * 16, 0, 255).astype(np.uint8)
    images = np.pad(pixels, ((0, 0), (4, 4), (4, 4)))
    chosen = np.random.default_rng(seed).permutation(len(images))[:n]
    noisy, flipped = flip_labels(digits.target[chosen].astype(np.int64), flips / n, 10, seed=seed)
    return images[chosen], noisy, flipped


@pytest.mark.slow  # the judge's ladder over five folds: minutes of CPU; in make test, not make test-fast
def test_the_default_judge_fits_small_data_and_finds_planted_flips():
    """Before, the default judge (cnn-fast, one epoch: 5 optimizer steps per fold) agreed with half the labels and
    flagged 187 images at precision 0.09 here. Measured with the ladder: while cnn-fast trained one epoch whatever
    the data, logreg was chosen (probe fold: cnn-fast 0.55, mlp 0.88, logreg 0.92; out-of-fold 0.894), 56 flagged,
    23 of the 28 flips found (precision 0.41); since its recipe is sized by optimizer steps, cnn-fast is chosen
    (probe 0.979, out-of-fold 0.968) and flags 18, all of them flips (recall 0.64). Either passes."""
    images, noisy, flipped = small_digits()
    data = quality.CheckedData({"train": Dataset(images, noisy, [str(k) for k in range(10)])})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = quality.LabelErrors().find_issues(data)
    hits = int(flipped[found.flags].sum())
    assert hits >= 15 and hits / found.flags.sum() >= 0.3, (found.title, hits, found.flags.sum())
    judge = found.context["judge"]
    # a judge below 0.9 judges, with a warning that many suspects may be its own mistakes
    careful = judge["out_of_fold_accuracy"] < 0.9
    assert any("(below 0.9)" in str(w.message) for w in caught) == careful == bool(found.caveat)
    # the judge, its out-of-fold accuracy and how the split was scored, beside the count
    assert judge["out_of_fold_accuracy"] >= 0.85 and judge["chosen"].startswith("chosen from the ladder")
    assert f"judge {judge['model']}, out-of-fold accuracy {judge['out_of_fold_accuracy']:.3f}" in found.title
    assert "5-fold out-of-fold within train (1400 images)" in found.title


def test_a_judge_too_weak_to_judge_gives_no_verdict_and_says_why(tmp_path, blobs, capsys):
    """``dummy`` always answers the commonest class: it agrees with a third of the labels, and must not call the
    other two thirds label errors (on main it flagged them all)."""
    X, y = blobs(240)
    datasets.export(Dataset(X, y, ["left", "middle", "right"], "bands", "train"), tmp_path / "d", "npz")
    args = ["health", str(tmp_path / "d" / "train.npz"), "--model", "dummy", "--folds", "3"]
    with pytest.warns(UserWarning, match="suspected label errors: NO VERDICT: the judge agrees with only"):
        code = main([*args, "--skip", "near,outlier,order", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    accuracy = r"0\.3\d\d"  # about a third of the labels: the commonest class of each fold's training part
    assert re.search(
        rf"suspected label errors \(judge dummy, out-of-fold accuracy {accuracy}, named by the user", out
    )
    assert re.search(rf"NO VERDICT: the judge agrees with only {accuracy} of the recorded labels", out)
    report = json.loads((tmp_path / "out" / "health.json").read_text())
    assert report["suspected_label_errors"] == {} and report["underperforming_groups"] == {}
    assert set(report["no_verdict"]) == {"suspected_label_errors", "underperforming_groups"}
    assert "too few to tell a wrong label" in report["warnings"]["suspected_label_errors"]
    assert report["context"]["suspected_label_errors"]["judge"]["verdict"] is False
    assert "suspected label error" not in (tmp_path / "out" / "findings.csv").read_text()
    page = (tmp_path / "out" / "health.html").read_text()
    assert "<b>no verdict</b>" in page and "too few to tell a wrong label" in page
    # told that many labels are wrong, the user may lower the bar (0: always judge)
    lowered = quality.LabelErrors("dummy", 3, min_judge_accuracy=0).find_issues(
        quality.CheckedData({"train": Dataset(X, y, ["l", "m", "r"])})
    )
    assert lowered.verdict


@pytest.mark.parametrize("value", [-0.1, 1.5, "high", True])
def test_a_bar_for_the_judge_outside_0_to_1_is_refused(value, blobs):
    X, y = blobs(60)
    data = quality.CheckedData({"train": Dataset(X, y, ["a", "b", "c"])})
    with pytest.raises(ParameterError, match="min_judge_accuracy="):
        quality.LabelErrors("logreg", min_judge_accuracy=value).validate(data)


def test_health_of_a_training_file_and_a_test_file_reports_leakage_between_them(tmp_path, blobs, capsys):
    X, y = blobs(300)
    test_images, test_labels = X[240:].copy(), y[240:].copy()
    test_images[:5] = X[[3, 17, 40, 41, 99]]  # five training images copied into the test file
    test_labels[:5] = y[[3, 17, 40, 41, 99]]
    classes = ["left", "middle", "right"]
    datasets.export(Dataset(X[:240], y[:240], classes, "bands", "train"), tmp_path / "a", "npz")
    datasets.export(Dataset(test_images, test_labels, classes, "bands", "train"), tmp_path / "b", "npz")
    args = ["health", str(tmp_path / "a" / "train.npz"), "--test", str(tmp_path / "b" / "train.npz")]
    code = main([*args, "--skip", "label,groups,near,outlier", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "images: train 240, test 60" in out, out
    assert "exact duplicate pairs: across 5" in out
    report = json.loads((tmp_path / "out" / "health.json").read_text())
    assert report["images"] == {"train": 240, "test": 60} and report["exact_duplicate_pairs"]["across"] == 5
    assert "test " in (tmp_path / "out" / "health.html").read_text()


def test_a_test_file_with_other_classes_is_refused(tmp_path, blobs, capsys):
    X, y = blobs(60)
    datasets.export(Dataset(X, y, ["a", "b", "c"], "bands", "train"), tmp_path / "a", "npz")
    datasets.export(Dataset(X, y, ["x", "y", "z"], "bands", "train"), tmp_path / "b", "npz")
    code = main(["health", str(tmp_path / "a" / "train.npz"), "--test", str(tmp_path / "b" / "train.npz")])
    assert code == 1 and "differ from the training data's ['a', 'b', 'c']" in capsys.readouterr().err


def write_class_folders(root, images, labels, classes):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in np.flatnonzero(labels == k):
            Image.fromarray(images[i]).save(root / name / f"{i:04d}.png")


def test_a_class_folder_layout_read_in_class_order_is_not_non_iid(tmp_path, smooth_images, capsys):
    """Files grouped by class because of the folders come in class order: that is how they are read, not a
    problem of the data (main reported the split as ordered, p 0.005). The same images in the same order in an
    npz, whose order is the user's, are still reported."""
    images, labels = smooth_images(300)
    order = np.argsort(labels, kind="stable")
    classes = ["left", "middle", "right"]
    write_class_folders(tmp_path / "folders", images, labels, classes)
    quick = ["--skip", "label,groups,near,outlier"]
    code = main(["health", str(tmp_path / "folders"), *quick, "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "order comes from reading class folders" in out, out
    report = json.loads((tmp_path / "out" / "health.json").read_text())
    assert report["non_iid_order"] == {} and "non_iid_order" not in report["scores"]
    assert report["context"]["non_iid_order"] == {"from_class_folders": ["folders"]}  # the split: the folder
    assert "non-IID order" not in (tmp_path / "out" / "findings.csv").read_text()
    sorted_file = Dataset(images[order], labels[order], classes)
    result = quality.NonIidOrder().find_issues(quality.CheckedData({"train": sorted_file}))
    assert result.counts == {"train": 1} and result.verdict


def test_the_class_imbalance_score_names_its_measure(tmp_path, blobs, capsys):
    X, y = blobs(240)
    keep = (y != 2) | (np.arange(240) % 4 == 0)  # class 'right' keeps a quarter of its images
    datasets.export(
        Dataset(X[keep], y[keep], ["left", "middle", "right"], "b", "train"), tmp_path / "d", "npz"
    )
    code = main(
        ["health", str(tmp_path / "d" / "train.npz"), "--skip", "label,groups", "--out", str(tmp_path / "o")]
    )
    out = capsys.readouterr().out
    # 20 of 180 images against an equal share of 60: 0.333; 80 / 20 = 4.00
    words = "train: rarest class 'right' at 0.333 of an equal share, largest/smallest class ratio 4.00"
    assert code == 0 and words in out, out
    assert re.search(
        r"class_imbalance +0\.3333  rarest class's share over an equal share \(1: balanced\)", out
    )
    report = json.loads((tmp_path / "o" / "health.json").read_text())
    assert (
        report["score_meanings"]["class_imbalance"]
        == "rarest class's share over an equal share (1: balanced)"
    )
    assert report["context"]["class_imbalance"]["balance"]["train"] == {
        "rarest_class": "right",
        "rarest_share_of_equal": 0.3333,
        "largest_over_smallest": 4.0,
    }
    assert "rarest class&#39;s share over an equal share" in (tmp_path / "o" / "health.html").read_text()


def test_the_chosen_judge_costs_no_extra_fit_and_scores_as_the_named_one(monkeypatch):
    """The ladder's probe fold is the first fold of the winner's out-of-fold probabilities: with a ladder of one
    rung, ``auto`` fits as many models as naming that model, and gives the same probabilities."""
    from mnistlab.quality import predictions

    images, labels, _ = small_digits(300, flips=3)
    fits = []
    real = predictions._estimator
    monkeypatch.setattr(predictions, "_estimator", lambda *a: fits.append(a[0]) or real(*a))
    monkeypatch.setattr(predictions, "JUDGE_LADDER", ("naive-bayes",))  # any model: a quick one
    monkeypatch.setattr(predictions, "REFIT_SHARE", 2.0)  # one pass: the refit is tested on its own
    splits = {"train": Dataset(images, labels, [str(k) for k in range(10)])}
    auto = predictions.judged(quality.CheckedData(splits), folds=3)
    named = predictions.judged(quality.CheckedData(splits), "naive-bayes", folds=3)
    assert fits == ["naive-bayes"] * 6  # 3 folds each: the probe was the first fold
    assert np.allclose(auto.splits["train"].proba, named.splits["train"].proba)
    assert list(auto.judge.ladder) == ["naive-bayes"] and auto.judge.model == "naive-bayes"
    assert named.judge.chosen == "named by the user" and auto.judge.chosen.startswith(
        "chosen from the ladder"
    )


def test_the_climb_stops_when_a_judge_is_good_enough_or_no_better(monkeypatch):
    """The ladder is climbed while it pays: it stops at a judge of 0.9 or more, or at one no better than the best
    before it (the later rungs cost more on large data)."""
    from mnistlab.quality import predictions

    accuracies = {"cnn-fast": 0.7, "mlp": 0.64, "logreg": 0.98}

    class Fixed:
        """A judge whose held-out accuracy is set: right on the first ``share`` of the images."""

        def __init__(self, name):
            self.name = name

        def fit(self, X, y):
            return self

    monkeypatch.setattr(predictions, "_estimator", lambda name, *a: Fixed(name))
    images, labels = np.zeros((100, 28, 28), np.uint8), np.zeros(100, np.int64)
    fold = (np.arange(50), np.arange(50, 100))
    # no better than the one before: stop (logreg, better but dearer on large data, is not tried); good enough: stop
    for ladder, expected in [
        (("cnn-fast", "mlp", "logreg"), ["cnn-fast", "mlp"]),
        (("logreg", "mlp"), ["logreg"]),
    ]:
        monkeypatch.setattr(predictions, "JUDGE_LADDER", ladder)
        monkeypatch.setattr(
            predictions, "_full_width", lambda est, X, n: _right_on(accuracies[est.name], len(X), n)
        )
        best, scores, _ = predictions._climb(Dataset(images, labels, ["a", "b"]), fold, 0, 2)
        assert list(scores) == expected and best == expected[0]


def _right_on(share: float, n: int, n_classes: int) -> np.ndarray:
    """Probabilities whose top class is 0 (every label here) for the first ``share`` of ``n`` images."""
    proba = np.zeros((n, n_classes))
    right = round(share * n)
    proba[:right, 0], proba[right:, 1] = 1, 1
    return proba
