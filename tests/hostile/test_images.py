"""Image files: decoded one way, with limits, and never silently wrong."""

import numpy as np
import pytest
from PIL import Image

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.datasets.decode import decode_gray
from mnistlab.datasets.preprocess import load_for_prediction
from mnistlab.errors import DataFormatError


def stroke(size=200) -> np.ndarray:
    """A dark vertical bar on white paper: ink that must survive every decoding route."""
    canvas = np.full((size, size), 255, np.uint8)
    canvas[size // 5 : -size // 5, size // 2 - 10 : size // 2 + 10] = 0
    return canvas


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    deep = (stroke().astype(np.uint16) * 257).clip(0, 65535)  # the same picture in 16 bits
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_array_equal(decode_gray(tmp_path / "deep.png"), stroke())
    assert load_for_prediction(tmp_path / "deep.png").max() > 200, "ink found, not a blank image"


def test_black_ink_on_a_transparent_canvas_is_ink(tmp_path):
    rgba = np.zeros((200, 200, 4), np.uint8)  # fully transparent black ...
    rgba[..., 3] = 255 - stroke()  # ... with opaque black where the stroke is
    Image.fromarray(rgba, "RGBA").save(tmp_path / "drawn.png")
    np.testing.assert_array_equal(decode_gray(tmp_path / "drawn.png"), stroke())
    image = load_for_prediction(tmp_path / "drawn.png")
    assert image.max() > 200 and image[0].max() == 0, "a light stroke on black, MNIST-style"


def test_a_blank_image_says_no_ink(tmp_path):
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(tmp_path / "white.png")
    with pytest.raises(DataFormatError, match="white.png: no ink found"):
        load_for_prediction(tmp_path / "white.png")


def test_a_huge_image_is_refused_from_its_header(tmp_path, run_measured):
    Image.new("L", (12000, 12000), 255).save(tmp_path / "huge.png", optimize=True)  # ~150 KB on disk
    assert (tmp_path / "huge.png").stat().st_size < 1_000_000
    lines, peak_mib = run_measured(
        "from mnistlab.datasets.preprocess import load_for_prediction\n"
        "from mnistlab.errors import DataFormatError\n"
        f"try:\n    load_for_prediction({str(tmp_path / 'huge.png')!r})\n"
        "except DataFormatError as exc:\n    print(exc)"
    )
    assert "image is 12000x12000 (144 megapixels); mnistlab reads at most 50 megapixels" in lines[0]
    assert peak_mib < 150, f"peak {peak_mib} MiB: the pixels were decoded (144 MB of them)"


def test_a_large_jpeg_photo_is_reduced_while_decoding(tmp_path, run_measured):
    photo = np.repeat(np.tile(stroke(1000), (7, 7))[..., None], 3, axis=2)  # 7000x7000 colour: 147 MB decoded
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=90)
    lines, peak_mib = run_measured(
        "from mnistlab.datasets.preprocess import load_for_prediction\n"
        f"print(load_for_prediction({str(tmp_path / 'photo.jpg')!r}).shape)"
    )
    assert lines == ["(28, 28)"] and peak_mib < 120, f"peak {peak_mib} MiB for a 49-megapixel JPEG"


def test_predict_with_a_model_without_probabilities_shows_scores(tmp_path, blobs, capsys):
    X, y = blobs(90)
    runs.save(
        tmp_path / "sgd", models.create("sgd").fit(X, y), model="sgd", data="toy", classes=["a", "b", "c"]
    )
    Image.fromarray(stroke()).save(tmp_path / "one.png")
    assert main(["predict", str(tmp_path / "sgd"), str(tmp_path / "one.png")]) == 0
    line = capsys.readouterr().out
    assert line.count("(score ") == 3 and "%" not in line
