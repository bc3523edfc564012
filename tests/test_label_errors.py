"""Label errors, second round (issue 36): cleanlab's filter on the judge's probabilities, the refit without the
first pass's suspects, calibrated probabilities, the test split judged by the fold models and flagged by the same
rule, many wrong labels told apart from a weak judge, checks chosen by name, and bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mnistlab import quality
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
from mnistlab.evaluation.calibration import at_temperature
from mnistlab.quality import predictions
from mnistlab.quality.confident_learning import first_pass_suspects
from mnistlab.quality.planted import flip_labels
from mnistlab.quality.predictions import NoiseSigns, calibrating_temperature, judge_verdict
from tests.test_health_own_data import small_digits

CLASSES = [str(k) for k in range(10)]


def test_the_filter_is_cleanlabs_ranked_most_doubtful_first():
    """Images the judge is sure belong to the next class are flagged, as cleanlab's own filter flags them, the
    lowest probability of the recorded label first."""
    from cleanlab.filter import find_label_issues

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 100)
    proba = np.full((300, 3), 0.02)
    proba[np.arange(300), labels] = rng.uniform(0.9, 0.99, 300)
    wrong = np.arange(0, 300, 20)  # 15 images that look like the next class, labelled as their own
    proba[wrong, labels[wrong]] = np.linspace(0.01, 0.03, len(wrong))
    proba[wrong, (labels[wrong] + 1) % 3] = 0.97
    proba /= proba.sum(1, keepdims=True)
    found = quality.suspected_label_errors(proba, labels)
    assert sorted(found.tolist()) == wrong.tolist()
    assert set(found.tolist()) == set(np.flatnonzero(find_label_issues(labels, proba)).tolist())
    given = proba[found, labels[found]]
    assert np.all(np.diff(given) >= 0), "most doubtful (lowest probability of the recorded label) first"


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_the_judge_is_refit_without_the_first_pass_suspects(monkeypatch):
    """Many flips: the first pass suspects over 1% of the images, so every fold model is refit on the images it
    did not suspect, and every image (suspects too) is scored again."""
    images, noisy, _ = small_digits(600, flips=60)
    seen = []
    real = predictions._out_of_fold
    monkeypatch.setattr(
        predictions, "_out_of_fold", lambda *a, **k: seen.append(k.get("keep")) or real(*a, **k)
    )
    data = quality.CheckedData({"train": Dataset(images, noisy, CLASSES)})
    judgement = predictions.judged(data, "logreg", folds=3, min_accuracy=0)
    scored = judgement.splits["train"]
    assert len(seen) == 2 and seen[0] is None, "one first pass, then one refit"
    # the refit leaves out cleanlab's default filter's suspects (more than the verdict flags on a weak judge)
    first_suspects = first_pass_suspects(scored.first_pass, noisy)
    assert (~seen[1]).sum() == len(first_suspects) >= 6
    assert np.flatnonzero(~seen[1]).tolist() == sorted(first_suspects.tolist())
    assert f"refit without the {len(first_suspects)} images a first pass suspected" in scored.scored_by
    assert not np.allclose(scored.first_pass, scored.proba)


def test_few_suspects_are_not_worth_a_refit(monkeypatch):
    images, noisy, _ = small_digits(600, flips=1)
    calls = []
    real = predictions._out_of_fold
    monkeypatch.setattr(predictions, "_out_of_fold", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(predictions, "REFIT_SHARE", 0.5)
    judgement = predictions.judged(
        quality.CheckedData({"train": Dataset(images, noisy, CLASSES)}), "logreg", 3
    )
    assert len(calls) == 1 and judgement.splits["train"].first_pass is None
    assert "refit" not in judgement.splits["train"].scored_by


def test_an_underconfident_judge_is_calibrated_before_the_filter():
    labels = np.repeat(np.arange(4), 50)
    soft = np.full((200, 4), 0.2)
    soft[np.arange(200), labels] = 0.4  # always right, never sure
    temperature = calibrating_temperature(soft, labels)
    assert temperature < 0.3
    sharper = at_temperature(soft, 1 / temperature)
    assert np.allclose(sharper.sum(1), 1) and (sharper.argmax(1) == labels).all()
    assert sharper[np.arange(200), labels].min() > 0.9
    overconfident = np.where(np.eye(4)[labels] == 1, 0.97, 0.01)
    overconfident[:40] = np.roll(overconfident[:40], 1, axis=1)  # 20% confidently wrong
    assert calibrating_temperature(overconfident, labels) > 1


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_the_test_split_is_judged_by_the_fold_models_and_flagged_by_the_same_rule():
    images, labels, _ = small_digits(1000, flips=1)
    test_labels, flipped = flip_labels(labels[700:], 0.04, 10, seed=1)
    data = quality.CheckedData(
        {
            "train": Dataset(images[:700], labels[:700], CLASSES, split="train"),
            "test": Dataset(images[700:], test_labels, CLASSES, split="test"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = quality.LabelErrors(model="logreg", folds=3).find_issues(data)
    assert found.details["test"]["scored_by"].startswith("logreg, the mean of the 3 fold models of train")
    test_found = set(found.details["test"]["indices"])
    hits = len(test_found & set(np.flatnonzero(flipped).tolist()))
    assert hits >= 0.75 * flipped.sum() and hits >= 0.75 * len(test_found), (hits, len(test_found))
    assert found.context["judge"]["temperature"] > 0


def test_many_wrong_labels_are_told_apart_from_a_weak_judge():
    rng = np.random.default_rng(0)
    n = 2000
    truth = rng.integers(0, 10, n)
    # a good judge of the true classes, equally sure everywhere
    proba = np.full((n, 10), 0.02)
    proba[np.arange(n), truth] = rng.uniform(0.7, 0.9, n)
    proba /= proba.sum(1, keepdims=True)
    noisy, _ = flip_labels(truth, 0.3, 10, seed=0)
    signs = NoiseSigns.measure(proba, noisy)
    assert signs.points_to_wrong_labels() and abs(signs.separation - 0.5) < 0.1
    accuracy = float((proba.argmax(1) == noisy).mean())
    verdict, caveat = judge_verdict(accuracy, 0.1, noise=signs)
    assert accuracy < 0.8 and verdict and "read as many wrong labels" in caveat
    # a weak judge of correct labels: wrong where it is unsure
    weak = proba.copy()
    hard = rng.random(n) < 0.3
    weak[hard] = 0.1
    weak[hard, (truth[hard] + 1) % 10] = 0.12
    weak /= weak.sum(1, keepdims=True)
    weak_signs = NoiseSigns.measure(weak, truth)
    assert not weak_signs.points_to_wrong_labels() and weak_signs.separation > 0.9
    assert judge_verdict(float((weak.argmax(1) == truth).mean()), 0.1, noise=weak_signs)[0] is False
    assert judge_verdict(accuracy, 0.1, min_accuracy=0, noise=weak_signs)[0], "0 turns every rule off"


def test_checks_are_chosen_by_name(tmp_path, capsys):
    images, labels, _ = small_digits(300, flips=1)
    from mnistlab import datasets

    datasets.export(Dataset(images, labels, CLASSES, "digits", "train"), tmp_path / "d", "npz")
    code = main(
        [
            "health",
            str(tmp_path / "d" / "train.npz"),
            "--checks",
            "odd,duplicates",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "o" / "health.json").read_text())
    assert set(report) - {"images", "scores", "score_meanings", "context", "warnings"} == {
        "exact_duplicate_pairs",
        "odd_images",
    }
    header = (tmp_path / "o" / "per_image.csv").read_text().splitlines()[0]
    assert (
        header
        == "split,index,label,exact_duplicate_pairs,exact_duplicate_pairs flagged,odd_images,odd_images flagged"
    )
    code = main(
        ["health", str(tmp_path / "d" / "train.npz"), "--checks", "labels", "--out", str(tmp_path / "p")]
    )
    err = capsys.readouterr().err
    assert code != 0 and "unknown check 'labels'" in err and "label, groups" in err and "Traceback" not in err
    assert quality.check_names("all", skip="label, groups") == [
        "duplicates", "near", "odd", "properties", "files", "imbalance", "outlier", "order"
    ]  # fmt: skip
    with pytest.raises(ParameterError, match="no check left to run"):
        quality.check_names("label", skip="label")


def test_bad_input_for_the_label_check_is_named():
    images, labels, _ = small_digits(300, flips=1)
    data = quality.CheckedData({"train": Dataset(images, labels, CLASSES)})
    with pytest.raises(ParameterError, match="gives no probabilities"):
        quality.LabelErrors(model="linear-svc").validate(data)
    two_each = np.repeat(np.arange(10), 2)
    tiny = quality.CheckedData({"train": Dataset(images[:20], two_each, CLASSES)})
    with pytest.raises(ParameterError, match="fold"):
        quality.LabelErrors(folds=5).validate(tiny)
    from mnistlab.errors import DataFormatError

    with pytest.raises(DataFormatError, match="one class only"):
        quality.CheckedData({"train": Dataset(images[:20], np.zeros(20, np.int64), CLASSES)})


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_labels_near_half_wrong_get_no_confident_verdict():
    """Half the labels moved at random: no judge can tell which are wrong, and the check says so instead of
    flagging half the data set."""
    images, labels, _ = small_digits(600, flips=1)
    noisy, _ = flip_labels(labels, 0.5, 10, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = quality.LabelErrors(model="logreg", folds=3).find_issues(
            quality.CheckedData({"train": Dataset(images, noisy, CLASSES)})
        )
    assert not found.verdict and found.flags is None
    assert "too few to tell a wrong label from its own mistake" in found.caveat


def test_the_verdict_is_cleanlabs_calibrated_count_taken_by_lowest_self_confidence():
    """Clean images of a confusable pair that the judge is sure enough of to count as the other class, and flips
    it plainly contradicts without being sure of the true class (no pair of classes counts those): the flips are
    flagged before the pair's clean images. cleanlab's per-pair default flags the pair and misses the flips."""
    from cleanlab.count import num_label_issues

    labels = np.repeat(np.arange(4), 100)
    proba = np.full((400, 4), 0.02)
    proba[np.arange(400), labels] = 0.94
    proba[labels == 1] = [0.3, 0.64, 0.03, 0.03]  # the judge is unsure of class 1 ...
    lookalike = np.flatnonzero(labels == 0)[:30]
    proba[lookalike] = [0.3, 0.66, 0.02, 0.02]  # ... so these clean 0s count as 1s
    flips = np.flatnonzero(labels == 2)[:12]
    noisy = labels.copy()
    noisy[flips] = 3
    proba[flips] = [0.32, 0.32, 0.32, 0.04]  # labelled 3, plainly not a 3, no class sure
    flagged = quality.suspected_label_errors(proba, noisy)
    count = num_label_issues(noisy, proba, estimation_method="off_diagonal_calibrated")
    assert len(flagged) == count
    self_confidence = proba[np.arange(400), noisy]
    assert self_confidence[flagged].max() <= np.delete(self_confidence, flagged).min(), (
        "lowest first, all of them"
    )
    assert set(flips) <= set(flagged.tolist()), "the plain contradictions first"
