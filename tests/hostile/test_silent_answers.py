"""Inputs that used to give a silently wrong answer: each is refused with a message, or handled by a stated rule."""

import numpy as np
import pytest

from mnistlab import models
from mnistlab.datasets.dataset import check_pixel_scale
from mnistlab.errors import DataFormatError


def _digits(n=40, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    return images, np.arange(n) % 2


@pytest.fixture(scope="module")
def fitted():
    images, labels = _digits()
    return {
        "mlp": models.create("mlp", epochs=1, threads=1).fit(images, labels),
        "logreg": models.create("logreg", max_iter=20).fit(images, labels),
    }


@pytest.mark.parametrize("name", ["mlp", "logreg"])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
@pytest.mark.parametrize(
    ("scale", "message"),
    [(1 / 255, "looks like the 0..1 scale"), (-1.0, "do not standardise"), (2.0, "range over 0..510")],
)
def test_pixels_off_the_0_255_scale_are_refused_at_every_entry(fitted, name, method, scale, message):
    images, labels = _digits()
    wrong = images.astype(np.float64) * scale
    args = (wrong, labels) if method == "score" else (wrong,)
    with pytest.raises(DataFormatError, match=message):
        getattr(fitted[name], method)(*args)


@pytest.mark.parametrize("name", ["mlp", "logreg"])
def test_fit_refuses_unit_scale_pixels(name):
    images, labels = _digits()
    model = models.create(name, epochs=1, threads=1) if name == "mlp" else models.create(name)
    with pytest.raises(DataFormatError, match=r"pass X \* 255"):
        model.fit(images / 255.0, labels)


@pytest.mark.parametrize("name", ["mlp", "logreg"])
def test_the_0_255_scale_in_any_numeric_type_and_blank_images_are_accepted(fitted, name):
    images, _ = _digits()
    for same in (images.astype(np.float32), images.astype(np.int64), images.reshape(len(images), -1) + 0.5):
        assert fitted[name].predict(np.clip(same, 0, 255)).shape == (len(images),)
    assert fitted[name].predict(np.zeros((3, 28, 28))).shape == (3,)  # blank: nothing to misread


def test_feature_rows_that_are_not_images_are_not_pixel_checked():
    rng = np.random.default_rng(0)
    features = rng.random((40, 16))  # 0..1 features (say, an embedding): not pixels, no contract
    clf = models.create("mlp", epochs=1, threads=1).fit(features, np.arange(40) % 2)
    assert clf.predict(features).shape == (40,)


def test_the_rule_itself():
    check_pixel_scale(np.array([[0, 255]], np.uint8))
    check_pixel_scale(np.array([[3.0, 7.0]]))  # a dark image on 0..255 is not mistaken for 0..1
    with pytest.raises(DataFormatError, match=r"largest 1\)"):
        check_pixel_scale(np.array([[0.0, 1.0]]), "X")  # 0/1 binarised pixels: the 0..1 scale too
