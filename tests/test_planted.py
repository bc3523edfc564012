"""Planted truth for the data checks: label noise, outliers and near copies are planted exactly as asked, and
recovery() scores a check's flags and ranking against them; the label-error check recovers planted noise (the
near-duplicate check's recall on real images is the benchmark's: benchmarks/quality_benchmarks.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.errors import ParameterError
from mnistlab.quality.planted import flip_labels, plant_near_duplicates, plant_outliers, recovery


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1])
def test_uniform_noise_changes_exactly_that_share_to_another_class(fraction):
    labels = np.repeat(np.arange(10), 100)
    noisy, flipped = flip_labels(labels, fraction, 10, seed=3)
    assert flipped.sum() == round(fraction * 1000)
    assert np.all(noisy[flipped] != labels[flipped]) and np.array_equal(noisy[~flipped], labels[~flipped])
    assert len(np.unique(noisy[flipped])) > 3  # spread over the other classes


def test_class_conditional_noise_stays_inside_its_group():
    labels = np.repeat(np.arange(10), 100)
    noisy, flipped = flip_labels(labels, 0.2, 10, seed=0, among=[0, 2, 4, 6])
    assert (
        flipped.sum() == 80 and set(labels[flipped]) <= {0, 2, 4, 6} and set(noisy[flipped]) <= {0, 2, 4, 6}
    )
    assert np.all(noisy[flipped] != labels[flipped])


@pytest.mark.parametrize(("fraction", "among"), [(0, None), (1.0, None), (0.1, [3])])
def test_noise_settings_that_cannot_work_are_refused(fraction, among):
    with pytest.raises(ParameterError):
        flip_labels(np.arange(10) % 3, fraction, 3, among=among)


@pytest.mark.parametrize("how", ["invert", "rotate", "source"])
def test_outliers_replace_only_the_planted_images(how):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 200, (200, 28, 28), dtype=np.uint8)
    other = np.full((50, 28, 28), 255, np.uint8)
    out, planted = plant_outliers(images, 0.05, seed=1, source=other if how == "source" else None, how=how)
    assert planted.sum() == 10 and np.array_equal(out[~planted], images[~planted])
    expected = {
        "invert": 255 - images[planted],
        "rotate": np.rot90(images[planted], 1, (1, 2)),
        "source": 255,
    }
    assert np.all(out[planted] == expected[how])


@pytest.mark.parametrize("how", ["shift", "noise"])
def test_near_copies_are_close_but_not_equal(how, smooth_images):
    images, labels = smooth_images(300)
    more, more_labels, pairs = plant_near_duplicates(images, labels, 10, seed=0, how=how)
    assert len(more) == 310 and np.array_equal(more_labels[300:], labels[[a for a, _ in pairs]])
    for original, copy in pairs:
        assert not np.array_equal(more[original], more[copy])
        assert (
            np.abs(more[original].astype(int) - more[copy]).sum()
            < np.abs(images[0].astype(int) - images[1]).sum()
        )


def test_recovery_scores_flags_and_ranking():
    truth = np.zeros(100, dtype=bool)
    truth[:10] = True
    scores = np.linspace(1, 0, 100)  # a perfect ranking: the planted ten first
    result = recovery(np.arange(5, 15), scores, truth)
    assert result == {
        "planted": 10,
        "flagged": 10,
        "precision": 0.5,
        "recall": 0.5,
        "auroc": 1.0,
        "precision_at_k": 1.0,
    }
    assert recovery(np.array([], dtype=int), -scores, truth)["precision"] is None
    assert recovery(np.array([], dtype=int), -scores, truth)["auroc"] == 0.0


def test_the_label_error_check_recovers_planted_noise(blobs):
    """Three bright bands: an easy task, so 10% flipped labels should be found nearly all, with few false flags."""
    from mnistlab.datasets import Dataset
    from mnistlab.quality import CheckedData
    from mnistlab.quality.label_errors import LabelErrors

    images, labels = blobs(600)
    noisy, flipped = flip_labels(labels, 0.1, 3, seed=0)
    data = CheckedData({"train": Dataset(images, noisy, ["a", "b", "c"])})
    found = LabelErrors(model="logreg", folds=3).find_issues(data)
    result = recovery(np.flatnonzero(found.flags), found.example_scores, flipped)
    assert result["recall"] >= 0.8 and result["precision"] >= 0.6 and result["auroc"] >= 0.95


def test_the_outlier_check_finds_planted_inverted_images_and_scores_the_data_set(smooth_images):
    from mnistlab.datasets import Dataset
    from mnistlab.quality import CheckedData, Outliers

    images, labels = smooth_images(600)
    planted_images, planted = plant_outliers(images, 0.02, seed=0, how="invert")
    data = CheckedData(
        {
            "train": Dataset(planted_images, labels, ["left", "middle", "right"]),
            "test": Dataset(255 - images[:5], labels[:5], ["left", "middle", "right"]),  # all odd
        }
    )
    result = Outliers().find_issues(data)
    train_flags = result.details["flagged"][result.details["flagged"] < 600]
    assert recovery(train_flags, result.details["scores"][:600], planted)["recall"] == 1.0
    assert result.counts["test"] == 5 and result.score == 1 - len(result.details["flagged"]) / 605
    scores = result.details["scores"][result.details["flagged"]]
    assert np.all(np.diff(scores) <= 0)  # farthest first


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"threshold": 1}, "threshold=1; expected a number > 1"), ({"k": 0}, "k=0"), ({"k": True}, "k=True")],
)
def test_outlier_settings_that_cannot_work_are_refused(settings, message, smooth_images):
    from mnistlab.datasets import Dataset
    from mnistlab.quality import CheckedData, Outliers

    images, labels = smooth_images(50)
    with pytest.raises(ParameterError, match=message):
        Outliers(**settings).validate(CheckedData({"train": Dataset(images, labels, ["a", "b", "c"])}))


def test_a_planted_group_is_not_its_own_neighbourhood():
    """60 inverted images in 2000 (30 per label, k = 50): scored once, each one's neighbours are mostly the
    others and most go unflagged; scored again without the 5% least typical training images, all are found."""
    from scipy.ndimage import gaussian_filter

    from mnistlab.quality.outliers import outlier_scores

    rng = np.random.default_rng(0)
    ink = gaussian_filter(rng.normal(size=(2000, 28, 28)), sigma=(0, 1.5, 1.5))
    images = np.clip(np.pad(ink[:, 4:-4, 4:-4], ((0, 0), (4, 4), (4, 4))) * 1200, 0, 255).astype(np.uint8)
    labels = np.arange(2000) % 2
    planted_images, planted = plant_outliers(images, 0.03, seed=0, how="invert")
    once = outlier_scores(planted_images, labels, planted_images, labels, trim=0)
    twice = outlier_scores(planted_images, labels, planted_images, labels)
    assert (once[planted] > 2).mean() < 0.5
    assert (twice[planted] > 2).all() and not (twice[~planted] > 2).any()
