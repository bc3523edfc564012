"""The cache never serves wrong data as verified."""

import gzip
import hashlib
import os

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets.idx import idx_bytes
from mnistlab.datasets.registry import REGISTRY, SPLIT_FILES, DatasetInfo, FileSpec, HttpMirror
from mnistlab.errors import DataNotAvailableError

RNG = np.random.default_rng(7)
ARRAYS = {
    SPLIT_FILES["train"][0]: RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8),
    SPLIT_FILES["train"][1]: np.array([0, 1, 2, 0, 1, 2], np.uint8),
    SPLIT_FILES["test"][0]: RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8),
    SPLIT_FILES["test"][1]: np.array([2, 1, 0], np.uint8),
}
RAW = {name: idx_bytes(array) for name, array in ARRAYS.items()}
GZ = {name: gzip.compress(raw, mtime=0) for name, raw in RAW.items()}


def register(monkeypatch, base_url: str, raw_checksums: bool) -> None:
    """A toy data set; without raw checksums it is like the official Fashion-MNIST (only .gz md5 published)."""
    specs = tuple(
        FileSpec(
            name,
            hashlib.sha256(RAW[name]).hexdigest() if raw_checksums else None,
            f"{name}.gz",
            hashlib.md5(GZ[name]).hexdigest(),
        )
        for name in RAW
    )
    info = DatasetInfo(name="toy", description="toy", classes=["a", "b", "c"], split_sizes={"train": 6, "test": 3},
                       files=specs, mirrors=(HttpMirror(f"{base_url}/a/"),), license="-", citation="-",
                       homepage="-", kind="objects", manual_hint="the toy .gz files")  # fmt: skip
    monkeypatch.setitem(REGISTRY, "toy", info)


@pytest.mark.parametrize("raw_checksums", [True, False])
def test_same_size_corruption_with_restored_mtime_is_caught_on_load(
    tmp_home, http_server, monkeypatch, raw_checksums
):
    register(monkeypatch, http_server.base_url, raw_checksums)
    for name, body in GZ.items():
        http_server.serve(f"/a/{name}.gz", body)
    datasets.load("toy")
    images = tmp_home / "toy" / SPLIT_FILES["train"][0]
    before = images.stat()
    damaged = bytearray(images.read_bytes())
    damaged[-1] ^= 0xFF
    images.write_bytes(bytes(damaged))
    os.utime(images, ns=(before.st_atime_ns, before.st_mtime_ns))  # the stat stamp still matches
    train = datasets.load("toy")  # detected while reading, fetched again
    np.testing.assert_array_equal(train.images, ARRAYS[SPLIT_FILES["train"][0]])
    assert sum(http_server.hits.values()) == 5, "the 4 files, then the damaged one again"
    assert all(status.verified for status in datasets.verify("toy").values())


def test_raw_files_without_a_checksum_are_never_served(tmp_home, http_server, monkeypatch, capsys):
    """Raw files placed by hand for a release that publishes only .gz checksums cannot be verified: never served
    (once, MNIST digits placed there were served as clothes)."""
    register(monkeypatch, http_server.base_url, raw_checksums=False)
    folder = tmp_home / "toy"
    folder.mkdir(parents=True)
    for name, raw in RAW.items():
        (folder / name).write_bytes(raw)  # right bytes, but nothing to prove it
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    statuses = datasets.cache_status("toy")
    assert not any(s.verified for s in statuses.values())
    assert "no checksum to verify it against (place the official" in next(iter(statuses.values())).detail
    with pytest.raises(DataNotAvailableError, match="MNISTLAB_OFFLINE=1"):
        datasets.load("toy")
    assert main(["data", "verify", "toy"]) == 1
    assert "4 of 4 files not verified" in capsys.readouterr().err
    for name, body in GZ.items():  # the official .gz files placed by hand are verified by md5, then served
        (folder / f"{name}.gz").write_bytes(body)
    np.testing.assert_array_equal(datasets.load("toy").labels, ARRAYS[SPLIT_FILES["train"][1]])
    assert all(s.verified for s in datasets.verify("toy").values())


def test_a_verified_stamp_for_other_bytes_is_not_trusted(tmp_home, http_server, monkeypatch):
    """Swapping a cached file for another data set's file of the same size fails the full hash on load."""
    register(monkeypatch, http_server.base_url, raw_checksums=False)
    for name, body in GZ.items():
        http_server.serve(f"/a/{name}.gz", body)
    datasets.load("toy", "test")
    labels = tmp_home / "toy" / SPLIT_FILES["test"][1]
    before = labels.stat()
    labels.write_bytes(idx_bytes(np.array([9, 9, 9], np.uint8)))
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(DataNotAvailableError):  # deleted as changed, and offline it cannot come back
        datasets.load("toy", "test")
