"""Property-based fuzzing of the file readers: any bytes give a correct result or a DataFormatError naming the
file, never another exception (a crash in the C loop would end the test run).

Covers the CSV, IDX, image and npz readers. Runs 100 examples per reader in CI; ``MNISTLAB_FUZZ_EXAMPLES=20000 pytest tests/hostile/test_fuzz.py`` runs longer.
"""

import gzip
import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnistlab import datasets
from mnistlab.datasets.decode import decode_gray
from mnistlab.datasets.idx import idx_bytes, read_idx
from mnistlab.errors import DataFormatError

FUZZ = settings(
    max_examples=int(os.environ.get("MNISTLAB_FUZZ_EXAMPLES", "100")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),  # CI runs the same examples every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8)
VALID = {
    "csv": (
        "label,"
        + ",".join(f"pixel{i}" for i in range(784))
        + "\n"
        + "\n".join(f"{k}," + ",".join(map(str, img.ravel())) for k, img in enumerate(IMAGES))
        + "\n"
    ).encode(),
    "idx": idx_bytes(IMAGES),
    "png": (lambda buffer: (Image.fromarray(IMAGES[0]).save(buffer, "PNG"), buffer.getvalue())[1])(
        io.BytesIO()
    ),
    "npz": (lambda buffer: (np.savez(buffer, images=IMAGES, labels=np.array([0, 1])), buffer.getvalue())[1])(
        io.BytesIO()
    ),
}

# One edit: overwrite a byte, insert bytes, delete a range, or cut the file short.
edits = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 200)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
)


def mutate(data: bytes, changes) -> bytes:
    out = bytearray(data)
    for kind, where, what in changes:
        at = where % (len(out) + 1)
        if kind == "set" and out:
            out[min(at, len(out) - 1)] = what
        elif kind == "insert":
            out[at:at] = what
        elif kind == "delete":
            del out[at : at + what]
        elif kind == "cut":
            del out[at:]
    return bytes(out)


def check(read, path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        result = read(path)
    except DataFormatError as exc:
        assert str(path.name) in str(exc), f"the message does not name the file: {exc}"
        return
    assert result.dtype == np.uint8 and result.ndim in (2, 3)


@FUZZ
@given(changes=st.lists(edits, min_size=1, max_size=4))
def test_csv_reader(tmp_path, changes):
    check(lambda p: datasets.from_csv(p).images, tmp_path / "fuzz.csv", mutate(VALID["csv"], changes))


@FUZZ
@given(changes=st.lists(edits, min_size=1, max_size=4), compressed=st.booleans())
def test_idx_reader(tmp_path, changes, compressed):
    data = mutate(VALID["idx"], changes)
    name = "fuzz-idx3-ubyte.gz" if compressed else "fuzz-idx3-ubyte"
    check(read_idx, tmp_path / name, gzip.compress(data) if compressed else data)


@FUZZ
@given(changes=st.lists(edits, min_size=1, max_size=3))
def test_image_decoder(tmp_path, changes):
    check(decode_gray, tmp_path / "fuzz.png", mutate(VALID["png"], changes))


@FUZZ
@given(changes=st.lists(edits, min_size=1, max_size=3))
def test_npz_reader(tmp_path, changes):
    check(lambda p: datasets.from_npz(p).images, tmp_path / "fuzz.npz", mutate(VALID["npz"], changes))


@FUZZ
@given(data=st.binary(max_size=3000))
@pytest.mark.parametrize("suffix", [".csv", ".png", "-idx3-ubyte"])
def test_random_bytes(tmp_path, data, suffix):
    read = {".csv": lambda p: datasets.from_csv(p).images, ".png": decode_gray, "-idx3-ubyte": read_idx}[
        suffix
    ]
    check(read, tmp_path / f"random{suffix}", data)
