"""CSV files that are not what they claim: a one-line error naming the file and what was expected, in bounded
memory."""

import gzip

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.errors import DataFormatError

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))
ROW = "3," + ",".join(["0"] * 784)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            gzip.compress((HEADER + "\n" + ROW + "\n").encode()),
            "this is a gzip file \\(decompress it first\\), not a CSV",
        ),
        (b"PK\x03\x04rest", "this is a zip archive"),
        (b"\x89PNG\r\n\x1a\n....", "this is a PNG image"),
        ((HEADER + "\r" + ROW + "\r").encode(), "lines end with a lone CR"),
        (
            (HEADER.replace(",", ", ") + "\n").encode(),
            "line 1 separates fields with ', ' \\(comma and space\\)",
        ),
        ((HEADER.replace(",", ";") + "\n").encode(), "line 1 separates fields with ';'; expected commas"),
        (("class" + HEADER[5:] + "\n" + ROW + "\n").encode(), "header column 1 is 'class', expected 'label'"),
        (b"1" * 200_000, "line 1 is longer than 64 KB"),
        ((HEADER + "\n" + ROW + "\n" + "5" * 2_000_000 + "\n").encode(), "line 3 is longer than 64 KB"),
    ],
    ids=[
        "gzip",
        "zip",
        "png",
        "cr-only",
        "comma-space",
        "semicolon",
        "no-label-name",
        "long-first-line",
        "long-line",
    ],
)
def test_files_that_are_not_kaggle_csvs_are_named(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=f"data.csv: {message}"):
        datasets.from_csv(path)


def test_a_device_is_not_read_as_a_csv():
    with pytest.raises(DataFormatError, match="/dev/zero: not a regular file"):
        datasets.from_csv("/dev/zero")


def test_a_newline_free_file_is_refused_in_bounded_memory(tmp_path, run_measured):
    path = tmp_path / "one-line.csv"
    with open(path, "wb") as out:
        for _ in range(100):
            out.write(b"1," * 500_000)  # 100 MB without a newline
    lines, peak_mib = run_measured(
        "from mnistlab import datasets\nfrom mnistlab.errors import DataFormatError\n"
        f"try:\n    datasets.from_csv({str(path)!r})\nexcept DataFormatError as exc:\n    print(exc)"
    )
    assert "line 1 is longer than 64 KB" in lines[0] and peak_mib < 150, peak_mib


def test_a_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\r\n" + ROW + "\r\n").encode())
    ds = datasets.from_csv(path)
    assert ds.labels.tolist() == [3] and not np.any(ds.images)


def test_a_header_mixing_both_pixel_numberings_is_named(tmp_path):
    """Found by the fuzz test: every name fits one numbering or the other, but not one numbering throughout."""
    names = [f"pixel{i}" for i in range(784)]
    names[100] = "pixel101"
    path = tmp_path / "mixed.csv"
    path.write_text("label," + ",".join(names) + "\n" + ",".join(["1"] + ["0"] * 784) + "\n")
    with pytest.raises(DataFormatError, match="header column 102 is 'pixel101', expected 'pixel100'"):
        datasets.from_csv(path)
