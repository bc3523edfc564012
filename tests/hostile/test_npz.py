"""``.npz`` files: headers checked before decompressing, values never silently wrong."""

import zipfile

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.errors import DataFormatError


def test_floats_in_0_1_are_refused_not_blackened(tmp_path):
    np.savez(tmp_path / "unit.npz", images=np.random.default_rng(0).random((2, 28, 28)))
    with pytest.raises(DataFormatError, match="floats in 0..1; mnistlab reads pixels 0..255"):
        datasets.from_npz(tmp_path / "unit.npz")
    np.savez(tmp_path / "whole.npz", images=np.full((2, 784), 200.0), labels=np.array([0, 1]))
    assert datasets.from_npz(tmp_path / "whole.npz").images.max() == 200, "whole-number floats are fine"


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"images": np.zeros((2, 28, 28), np.uint8), "classes": np.array([1.5, 2.5])},
            "'classes' must be a 1-D array of strings",
        ),
        (
            {"images": np.zeros((2, 28, 28), np.uint8), "labels": np.array(["a", "b"])},
            "'labels' are <U1, expected integer",
        ),
        (
            {"images": np.zeros((2, 27, 27), np.uint8)},
            r"'images' has shape \(2, 27, 27\), expected \(N, 28, 28\)",
        ),
        ({"images": np.array(["x"] * 784).reshape(1, 784)}, "'images' are <U1, expected pixel numbers"),
    ],
)
def test_arrays_of_the_wrong_kind_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataFormatError, match=message):
        datasets.from_npz(tmp_path / "bad.npz")


def test_a_compressed_bomb_is_refused_before_decompressing(tmp_path, run_measured):
    """A small file whose header declares 4.7 GB of images: refused from the header, nothing allocated."""
    path = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 28, 28), np.uint8))
    header["shape"] = (6_000_000, 28, 28)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("images.npy", "w", force_zip64=True) as out,
    ):
        np.lib.format.write_array_header_1_0(out, header)
        block = bytes(1 << 24)
        for _ in range(4):
            out.write(block)
    lines, peak_mib = run_measured(
        "from mnistlab import datasets\nfrom mnistlab.errors import DataFormatError\n"
        f"try:\n    datasets.from_npz({str(path)!r})\nexcept DataFormatError as exc:\n    print(exc)"
    )
    assert "declares shape (6000000, 28, 28) (4704000000 bytes), more than mnistlab reads" in lines[0]
    assert peak_mib < 150, peak_mib


def test_a_tampered_size_is_refused(tmp_path):
    np.savez(tmp_path / "ok.npz", images=np.zeros((4, 28, 28), np.uint8))
    with zipfile.ZipFile(tmp_path / "ok.npz") as archive:
        data = archive.read("images.npy")
    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as archive:
        archive.writestr("images.npy", data[:-784])  # one image short of what the header declares
    with pytest.raises(DataFormatError, match="declares shape \\(4, 28, 28\\) of uint8 but holds"):
        datasets.from_npz(tmp_path / "cut.npz")
