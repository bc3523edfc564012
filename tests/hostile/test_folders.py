"""Image folders and manifests handed in by someone else."""

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.errors import DataFormatError


def folder_with(tmp_path, rows: list[str], manifest_prefix: bytes = b"") -> object:
    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(root / f"{i}.png")
    (root / "labels.csv").write_bytes(
        manifest_prefix + ("filename,label\n" + "\n".join(rows) + "\n").encode()
    )
    return root


def test_manifest_paths_leaving_the_folder_are_refused(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "secret.png")
    root = folder_with(tmp_path, ["0.png,0", "../secret.png,1"])
    with pytest.raises(DataFormatError, match="labels.csv: line 3: '../secret.png' is outside"):
        datasets.from_image_folder(root)
    (root / "labels.csv").write_text(f"filename,label\n{tmp_path / 'secret.png'},0\n")
    with pytest.raises(DataFormatError, match="is outside"):
        datasets.from_image_folder(root)


def test_a_manifest_with_a_byte_order_mark_reads(tmp_path):
    root = folder_with(tmp_path, ["0.png,0", "1.png,1", "2.png,2"], manifest_prefix=b"\xef\xbb\xbf")
    assert datasets.from_image_folder(root).labels.tolist() == [0, 1, 2]


def test_a_huge_manifest_label_is_not_a_class_count(tmp_path):
    root = folder_with(tmp_path, ["0.png,0", "1.png,300000000"])
    with pytest.raises(DataFormatError, match="label 300000000 of line 3 is not a class index"):
        datasets.from_image_folder(root)


def test_a_stray_label_among_digits_is_refused_naming_it(tmp_path):
    root = folder_with(tmp_path, ["0.png,0", "1.png,1", "2.png,42"])
    with pytest.raises(DataFormatError, match=r"classes 10\.\.41 have no image \(label 42 first on line 4\)"):
        datasets.from_image_folder(root)
    assert len(datasets.from_image_folder(root, classes=[str(k) for k in range(43)]).classes) == 43
