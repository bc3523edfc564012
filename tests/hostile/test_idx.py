"""IDX files whose header and body disagree are refused from the header, without decompressing the body."""

import gzip
import struct

import pytest

from mnistlab import datasets
from mnistlab.errors import DataFormatError


@pytest.mark.slow
def test_a_gzip_bomb_behind_a_small_header_is_not_decompressed(tmp_path, run_measured):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"\x00\x00\x08\x03" + struct.pack(">3I", 10, 28, 28))  # promises 10 images (7840 bytes)
        block = bytes(1 << 24)
        for _ in range(64):  # ... and holds 1 GiB
            out.write(block)
    assert path.stat().st_size < 2_000_000
    lines, peak_mib = run_measured(
        "from mnistlab import datasets\nfrom mnistlab.errors import DataFormatError\n"
        f"try:\n    datasets.from_idx({str(path)!r})\nexcept DataFormatError as exc:\n    print(exc)"
    )
    assert "file is longer than its header says" in lines[0] and peak_mib < 150, (lines, peak_mib)


def test_a_header_promising_more_than_4_gib_is_refused(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 10_000_000, 28, 28) + bytes(100))
    with pytest.raises(
        DataFormatError, match="promises \\(10000000, 28, 28\\) = 7840000000 bytes, more than"
    ):
        datasets.from_idx(path)


def test_a_header_whose_size_overflows_64_bits_is_refused(tmp_path):
    """Found by the fuzz test: dimensions multiplying to 2**64 wrapped to 0 in int64 and passed the size check."""
    path = tmp_path / "wrap-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2**31, 2**31, 4))
    with pytest.raises(DataFormatError, match="more than mnistlab reads"):
        datasets.from_idx(path)
