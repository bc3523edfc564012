"""The model-free checks with scores: unusual image properties against the class, and rare classes."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
from mnistlab.quality import CheckedData, ClassImbalance, ImageProperties, image_properties


def squares(n: int, seed: int = 0) -> np.ndarray:
    """Centred dark squares of slightly different sizes and levels: one class of ordinary images."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for image, half, level in zip(images, rng.integers(4, 7, n), rng.integers(200, 256, n), strict=True):
        image[14 - half : 14 + half, 14 - half : 14 + half] = level
    return images


def test_properties_of_known_images():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 10:18, 10:18] = 255  # centred
    images[1, 0:8, 0:8] = 255  # in the corner: off-centre, ink at the border
    images[2, 10:18, 10:18] = 40  # faint
    found = image_properties(images)
    assert found["offset"][0] == 0 and found["offset"][1] > 12
    assert found["border"][0] == 0 and found["border"][1] == pytest.approx(
        28 / 64
    )  # rows 0-1 and columns 0-1 of the square
    assert found["contrast"][2] == pytest.approx(40 / 255) and found["ink"][2] == 0


@pytest.mark.parametrize(
    ("odd", "kind"),
    [
        (lambda im: np.roll(im, (9, 9), axis=(0, 1)), "off-centre ink"),
        (lambda im: (im // 8).astype(np.uint8), "low contrast"),
        (lambda im: np.where(np.arange(28)[:, None] < 26, 0, 255).astype(np.uint8) | im, "ink at the border"),
    ],
)
def test_an_unusual_image_is_flagged_with_its_property(odd, kind):
    images = squares(200)
    images[17] = odd(images[17])
    result = ImageProperties().find_issues(
        CheckedData({"train": Dataset(images, np.zeros(200, int) + np.arange(200) % 2, ["a", "b"])})
    )
    assert result.details["flagged"][0] == 17 and result.rows[0]["kind"] == kind
    assert result.score == 1 - len(result.details["flagged"]) / 200 and result.score >= 0.98


def test_rare_classes_are_flagged_and_scored():
    labels = np.repeat([0, 1, 2], [100, 100, 20])
    data = CheckedData({"train": Dataset(squares(220), labels, ["a", "b", "c"])})
    result = ClassImbalance().find_issues(data)
    assert result.counts == {"train": 1} and result.rows[0]["labels"] == "c"
    assert result.score == pytest.approx(20 / 220 * 3)


@pytest.mark.parametrize(
    ("check", "message"),
    [(ImageProperties(threshold=0), "threshold=0"), (ClassImbalance(ratio=1.5), "ratio=1.5")],
)
def test_settings_that_cannot_work_are_refused(check, message):
    with pytest.raises(ParameterError, match=message):
        check.validate(CheckedData({"train": Dataset(squares(10), np.arange(10) % 2, ["a", "b"])}))
