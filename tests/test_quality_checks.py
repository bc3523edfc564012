"""The checks added for coverage: non-IID order, underperforming groups, stroke width, image-folder files, the
shared out-of-sample probabilities (who scored which split), shifted near copies, per-image scores and the page."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets, quality
from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
from mnistlab.quality import CheckedData


def clumps(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three kinds of image (a bright band at the top, middle or bottom) with pixel noise; label = the kind."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for k in range(3):
        images[labels == k, 9 * k : 9 * k + 9, 4:24] = 220
    return images, labels


def test_a_split_sorted_by_label_is_ordered_and_a_shuffled_one_is_not():
    images, labels = clumps(600)
    order = np.argsort(labels, kind="stable")
    check = quality.NonIidOrder(permutations=100)
    ordered = check.find_issues(CheckedData({"train": Dataset(images[order], labels[order], list("abc"))}))
    shuffled = check.find_issues(CheckedData({"train": Dataset(images, labels, list("abc"))}))
    assert (
        ordered.counts == {"train": 1} and ordered.score < 0.01 and ordered.rows[0]["kind"] == "non-IID order"
    )
    assert ordered.flags.mean() > 0.5  # sorted: most images sit beside their look-alikes
    assert shuffled.counts == {"train": 0} and shuffled.score > 0.01 and not shuffled.flags.any()


def test_the_order_test_cannot_be_asked_for_a_p_value_it_cannot_reach():
    data = CheckedData({"train": Dataset(*clumps(30), list("abc"))})
    with pytest.raises(ParameterError, match="permutations=50 cannot give a p-value below alpha=0.01"):
        quality.NonIidOrder(permutations=50).validate(data)


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_a_region_where_the_model_fails_is_an_underperforming_group():
    """Images of one kind (band at the bottom) carry random labels: the model cannot learn them, and the
    cluster that holds them is flagged; the other kinds are not."""
    images, labels = clumps(900)
    rng = np.random.default_rng(1)
    bottom = np.flatnonzero(labels == 2)[:150]
    images[bottom, 18:27, 4:24] = 0
    images[bottom, 22:28, :] = 250  # a fourth look, labelled at random
    labels = labels.copy()
    labels[bottom] = rng.integers(0, 3, len(bottom))
    data = CheckedData({"train": Dataset(images, labels, list("abc"))})
    result = quality.UnderperformingGroups(model="logreg", folds=3, clusters=6, min_size=20).find_issues(data)
    assert result.counts["groups"] >= 1
    flagged = np.flatnonzero(result.flags)
    assert np.isin(bottom, flagged).mean() > 0.9 and np.isin(flagged, bottom).mean() > 0.9
    assert result.score < 0.6 and result.example_scores[bottom].min() > 2  # the others: above 0.9
    gallery = quality.UnderperformingGroups().galleries(data, result, 8)["group_1.png"]
    assert len(gallery.images) == 8 and sum(gallery.flagged) == 4  # half mistakes, half what it got right


def test_both_model_checks_share_one_set_of_fits_and_say_who_scored_each_split(monkeypatch):
    from mnistlab.quality import predictions

    calls = []
    real = predictions._out_of_fold
    monkeypatch.setattr(
        predictions, "_out_of_fold", lambda *a, **k: calls.append(a[0].split) or real(*a, **k)
    )
    images, labels = clumps(600)
    data = CheckedData(
        {
            "train": Dataset(images[:450], labels[:450], list("abc"), split="train"),
            "test": Dataset(images[450:], labels[450:], list("abc"), split="test"),
        }
    )
    found = quality.LabelErrors(model="logreg", folds=3).find_issues(data)
    quality.UnderperformingGroups(model="logreg", folds=3, clusters=5).find_issues(data)
    assert calls == ["train"]  # the test split by the fold models of train; nothing fitted twice
    assert found.details["train"]["scored_by"] == "logreg, 3-fold out-of-fold within train (450 images)"
    assert found.details["test"]["scored_by"] == "logreg, the mean of the 3 fold models of train"
    within = quality.LabelErrors(model="logreg", folds=3, cross_split=False).find_issues(data)
    assert within.details["test"]["scored_by"] == "logreg, 3-fold out-of-fold within test (150 images)"
    assert found.example_scores.shape == (600,) and found.flags.sum() == sum(found.counts.values())


def scribbles(n: int, seed: int = 0) -> np.ndarray:
    """Smooth random ink inside a 4-pixel margin: every image different, even with its ink centred."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    ink = gaussian_filter(rng.normal(size=(n, 28, 28)), sigma=(0, 1.5, 1.5))
    ink[:, :4], ink[:, -4:], ink[:, :, :4], ink[:, :, -4:] = 0, 0, 0, 0
    return np.clip(ink * 1200, 0, 255).astype(np.uint8)


def test_copies_shifted_by_a_pixel_are_near_duplicates():
    from mnistlab.quality.planted import plant_near_duplicates

    images = scribbles(400)
    labels = np.arange(400) % 2
    for how in ("shift", "noise"):
        more, more_labels, pairs = plant_near_duplicates(images, labels, 10, seed=0, how=how)
        found = quality.near_duplicates(more, more_labels)
        assert {(a, b) for a, b in pairs} <= {(i, j) for i, j, _ in found}, how


def bars(n: int, width: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for image, length in zip(images, rng.integers(12, 21, n), strict=True):
        image[14 - length // 2 : 14 + length // 2 + length % 2, 13 : 13 + width] = 255
    return images


def test_a_much_thicker_stroke_is_flagged_as_such():
    images = bars(200)
    images[31] = bars(1, width=6)[0]
    result = quality.ImageProperties().find_issues(
        CheckedData({"train": Dataset(images, np.arange(200) % 2, ["a", "b"])})
    )
    assert result.worst(1).tolist() == [31] and result.rows[0]["kind"] == "unusual stroke thickness"


def write_folder(root, odd_size=(40, 56), odd_mode="RGB"):
    images, labels = clumps(60)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / "abc"[label]
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(image)
        if i == 7:
            picture = picture.convert(odd_mode).resize(odd_size)
        picture.save(folder / f"{i:03d}.png")
    return root


def test_an_image_folder_file_of_another_size_aspect_and_colour_is_flagged(tmp_path):
    dataset = datasets.from_image_folder(write_folder(tmp_path / "folder"), preprocess="resize")
    assert dataset.originals["width"].shape == (60,) and dataset.subset(slice(0, 5)).originals[
        "width"
    ].shape == (5,)
    result = quality.OriginalFiles().find_issues(CheckedData({"train": dataset}))
    odd = result.worst(5)
    assert len(odd) == 1 and result.example_scores[odd[0]] == 3  # size, aspect and colour
    assert {row["kind"] for row in result.rows} == {
        "other size file",
        "other aspect file",
        "other colour file",
    }
    assert result.rows[0]["value"] == "40x56 colour" and result.score == pytest.approx(59 / 60)


def test_data_without_files_of_its_own_is_not_scored_for_them():
    result = quality.OriginalFiles().find_issues(CheckedData({"train": Dataset(*clumps(30), list("abc"))}))
    assert result.score is None and result.example_scores is None and "not an image folder" in result.title


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_health_writes_every_images_scores_and_a_page_per_check(tmp_path):
    from mnistlab.workflows import health

    images, labels = clumps(300)
    images[5] = images[4]  # an exact copy
    datasets.export(Dataset(images, labels, list("abc"), "clumps", "train"), tmp_path / "d", "npz")
    report = health(tmp_path / "d" / "train.npz", model="logreg", folds=3, out=tmp_path / "out")
    with open(tmp_path / "out" / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300 and rows[5]["exact_duplicate_pairs flagged"] == "1"
    scored = [r for r in report.results.values() if r.flags is not None]
    for result in scored:  # each check's flag column agrees with what it counted
        assert sum(int(row[f"{result.name} flagged"]) for row in rows) == int(result.flags.sum())
    assert {"suspected_label_errors", "underperforming_groups", "non_iid_order", "outliers"} <= {
        r.name for r in scored
    }
    page = (tmp_path / "out" / "health.html").read_text()
    for name in report.results:
        assert f'<section id="{name}">' in page
    assert page.count("data:image/png;base64,") >= 1 and "logreg, 3-fold out-of-fold within train" in page
    assert json.loads((tmp_path / "out" / "health.json").read_text())["scores"]["exact_duplicate_pairs"] == (
        pytest.approx(299 / 300)
    )


def test_outliers_in_a_trained_networks_features(tmp_path):
    from mnistlab.workflows import health, train_model

    images, labels = clumps(600)
    images[10] = 255 - images[10]  # an inverted image among the training images
    datasets.export(Dataset(images, labels, list("abc"), "clumps", "train"), tmp_path / "d", "npz")
    data = tmp_path / "d" / "train.npz"
    train_model(
        data, "mlp", params={"epochs": 2, "threads": 1}, test_fraction=0.2, out=tmp_path / "run", verbose=0
    )
    report = health(data, checks="outlier", features_from=tmp_path / "run")
    result = report["outliers"]
    assert "in the run's" in result.title and "layer space" in result.title, result.title
    assert result.worst(1).tolist() == [10]
    with pytest.raises(ParameterError, match=r"features of shape \(3, 2\); expected one row per image \(600"):
        quality.Outliers(features=np.zeros((3, 2))).validate(
            CheckedData({"train": Dataset(images, labels, list("abc"))})
        )


@pytest.mark.parametrize("n", [2, 7, 300, 1001])
def test_tiled_nearest_neighbour_matches_scikit_learn(n, monkeypatch):
    """Tiles smaller than the data (and of sizes that do not divide it): every tile edge, the self-match inside a
    tile, and the last short tiles are exercised; the nearest other point is scikit-learn's."""
    from sklearn.neighbors import NearestNeighbors

    from mnistlab.quality import neighbours

    monkeypatch.setattr(neighbours, "QUERY_BLOCK", 64)
    monkeypatch.setattr(neighbours, "BASE_BLOCK", 96)
    points = np.random.default_rng(n).normal(size=(n, 5)).astype(np.float32)
    distance, index = neighbours.nearest_neighbour(points)
    expected_distance, expected_index = NearestNeighbors(n_neighbors=2).fit(points).kneighbors(points)
    assert (index == expected_index[:, 1]).all() and (index != np.arange(n)).all()
    np.testing.assert_allclose(distance, expected_distance[:, 1], atol=1e-4)


def test_nearest_neighbour_of_identical_points_is_another_copy():
    from mnistlab.quality.neighbours import nearest_neighbour

    points = np.zeros((4, 3), np.float32)
    distance, index = nearest_neighbour(points)
    assert (distance == 0).all() and (index != np.arange(4)).all()
    with pytest.raises(ValueError, match="at least 2 points"):
        nearest_neighbour(points[:1])
