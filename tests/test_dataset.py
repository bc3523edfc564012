import numpy as np
import pytest

from mnistlab.datasets import Dataset, train_val_split
from mnistlab.errors import DataFormatError


def test_dataset_validates_shape_dtype_and_labels():
    with pytest.raises(DataFormatError, match=r"shape \(N, 28, 28\)"):
        Dataset(np.zeros((2, 28, 27), np.uint8), np.zeros(2, int), ["a"])
    with pytest.raises(DataFormatError, match="uint8"):
        Dataset(np.zeros((2, 28, 28), np.float32), np.zeros(2, int), ["a"])
    with pytest.raises(DataFormatError, match="2 images but labels"):
        Dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(3, int), ["a"])
    with pytest.raises(DataFormatError, match="label 5 of row 2 is outside the 2 classes"):
        Dataset(np.zeros((2, 28, 28), np.uint8), np.array([0, 5]), ["a", "b"])


def test_pixel_stats_match_numpy(small_dataset):
    mean, std = small_dataset.pixel_stats()
    assert mean == pytest.approx(small_dataset.images.mean())
    assert std == pytest.approx(small_dataset.images.std())


def test_train_val_split_is_stratified_disjoint_and_seeded(small_dataset):
    train, val = train_val_split(small_dataset, val_fraction=0.2, seed=1)
    assert len(train) == 24 and len(val) == 6
    assert val.class_counts().tolist() == [2, 2, 2]
    _, again_val = train_val_split(small_dataset, val_fraction=0.2, seed=1)
    np.testing.assert_array_equal(val.images, again_val.images)
    train_rows = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in train_rows for img in val.images)


def test_split_without_labels_is_refused():
    ds = Dataset(np.zeros((4, 28, 28), np.uint8), None, ["a"])
    with pytest.raises(DataFormatError, match="without labels"):
        train_val_split(ds)
