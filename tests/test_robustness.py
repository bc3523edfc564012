"""The MNIST-C corruptions (seeded, vectorised, checked against scikit-image where the paper used it) and
`mnistlab robustness`: accuracy per corruption in metrics.json, the report and the model card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnistlab.errors import ParameterError
from mnistlab.evaluation.corruptions import CORRUPTIONS, corrupt


def digits(n: int = 40, seed: int = 0) -> np.ndarray:
    """Strokes in the middle of a black 28x28 field: a bar and a ring, like MNIST's ink."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    rr, cc = np.mgrid[0:28, 0:28]
    for image, radius in zip(images, rng.uniform(4, 7, n), strict=True):
        ring = np.abs(np.hypot(rr - 13.5, cc - 13.5) - radius) < 1.2
        image[ring] = 255
        image[6:22, 13:15] = 200
    return images


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_corruption_changes_the_images_and_is_seeded(name):
    images = digits()
    out = corrupt(images, name, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert not np.array_equal(out, images), "the corruption changed nothing"
    assert np.array_equal(out, corrupt(images, name, seed=3)), "the same seed gives the same images"
    assert np.array_equal(images, digits()), "the input is left as it was"


def test_corruptions_keep_images_independent():
    """A corrupted image does not depend on the others in the batch (filters along the stack would mix them)."""
    images = digits(12)
    for name in ("canny_edges", "glass_blur", "spatter", "stripe", "scale", "brightness"):
        together = corrupt(images, name, seed=1)
        alone = corrupt(images[:1], name, seed=1)
        if name in ("canny_edges", "scale", "stripe", "brightness"):  # no randomness: identical
            assert np.array_equal(together[0], alone[0]), name


def test_the_affine_corruptions_and_canny_match_scikit_image():
    """The paper built rotate, scale and canny_edges with scikit-image; the ones here agree with it."""
    skimage = pytest.importorskip("skimage")
    from skimage import feature, transform

    class Positive:  # the random sign of the rotation, fixed
        def choice(self, options, size):
            return np.ones(size)

    from mnistlab.evaluation import corruptions

    images = digits(20)
    for fn, kwargs in (
        (corruptions.rotate, {"rotation": 0.4}),
        (corruptions.scale, {"scale": (1 / 0.7, 1 / 0.7)}),
    ):
        ours = fn(images, Positive()).astype(float)
        theirs = []
        for image in images:
            matrix = transform.AffineTransform(**kwargs).params
            shift = [13.5 * (1 - matrix[0, 0] - matrix[0, 1]), 13.5 * (1 - matrix[1, 0] - matrix[1, 1])]
            aff = transform.AffineTransform(**kwargs, translation=shift)
            theirs.append(np.clip(transform.warp(image / 255.0, inverse_map=aff), 0, 1) * 255)
        assert np.abs(ours - np.array(theirs)).max() <= 1, fn.__name__
    edges = corrupt(images, "canny_edges") > 0
    expected = np.array([feature.canny(image / 255.0) for image in images])
    assert (edges == expected).mean() > 0.999 and skimage


def test_an_unknown_corruption_or_bad_images_are_refused():
    with pytest.raises(ParameterError, match="corruption 'fogg' does not exist; the corruptions: shot_noise"):
        corrupt(digits(2), "fogg")
    with pytest.raises(ParameterError, match=r"images of shape \(2, 784\); corruptions take \(N, 28, 28\)"):
        corrupt(np.zeros((2, 784), np.uint8), "fog")


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_robustness_of_a_run_is_recorded_reported_and_in_its_model_card(tmp_path, blobs, capsys):
    from mnistlab import datasets
    from mnistlab.cli.main import main
    from mnistlab.datasets import Dataset
    from mnistlab.workflows import evaluate_run, report_run, train_model

    X, y = blobs(300)
    datasets.export(Dataset(X, y, ["a", "b", "c"], "bands", "train"), tmp_path / "d", "npz")
    run = tmp_path / "run"
    train_model(
        tmp_path / "d" / "train.npz",
        "mlp",
        test_fraction=0.3,
        params={"epochs": 3, "threads": 1},
        out=run,
        verbose=0,
    )
    evaluate_run(run)
    assert main(["robustness", str(run), "--corruption", "fog", "--corruption", "stripe"]) == 0
    out = capsys.readouterr().out
    assert "fog" in out and "stripe" in out and "mean" in out
    recorded = json.loads((run / "metrics.json").read_text())["robustness"]
    assert set(recorded["corruptions"]) == {"fog", "stripe"}
    assert recorded["mean"] == pytest.approx(np.mean(list(recorded["corruptions"].values())))
    assert recorded["drop"] == pytest.approx(recorded["clean"] - recorded["mean"])
    assert (run / "robustness.png").exists() and (run / "corruptions.png").exists()
    assert "mean accuracy over 2 corruptions" in (run / "model_card.md").read_text()
    assert "Under corruption" in report_run(run).read_text()
    assert main(["robustness", str(run), "--corruption", "fogg"]) == 1
    assert "corruption 'fogg' does not exist" in capsys.readouterr().err
