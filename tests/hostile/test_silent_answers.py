"""Inputs that used to give a silently wrong answer: each is refused with a message, or handled by a stated rule."""

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets, models
from mnistlab.datasets.dataset import check_pixel_scale
from mnistlab.errors import DataFormatError


def _digits(n=40, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    return images, np.arange(n) % 2


@pytest.fixture(scope="module")
def fitted():
    images, labels = _digits()
    return {
        "mlp": models.create("mlp", epochs=1, threads=1).fit(images, labels),
        "logreg": models.create("logreg", max_iter=20).fit(images, labels),
    }


@pytest.mark.parametrize("name", ["mlp", "logreg"])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
@pytest.mark.parametrize(
    ("scale", "message"),
    [(1 / 255, "looks like the 0..1 scale"), (-1.0, "do not standardise"), (2.0, "range over 0..510")],
)
def test_pixels_off_the_0_255_scale_are_refused_at_every_entry(fitted, name, method, scale, message):
    images, labels = _digits()
    wrong = images.astype(np.float64) * scale
    args = (wrong, labels) if method == "score" else (wrong,)
    with pytest.raises(DataFormatError, match=message):
        getattr(fitted[name], method)(*args)


@pytest.mark.parametrize("name", ["mlp", "logreg"])
def test_fit_refuses_unit_scale_pixels(name):
    images, labels = _digits()
    model = models.create(name, epochs=1, threads=1) if name == "mlp" else models.create(name)
    with pytest.raises(DataFormatError, match=r"pass X \* 255"):
        model.fit(images / 255.0, labels)


@pytest.mark.parametrize("name", ["mlp", "logreg"])
def test_the_0_255_scale_in_any_numeric_type_and_blank_images_are_accepted(fitted, name):
    images, _ = _digits()
    for same in (images.astype(np.float32), images.astype(np.int64), images.reshape(len(images), -1) + 0.5):
        assert fitted[name].predict(np.clip(same, 0, 255)).shape == (len(images),)
    assert fitted[name].predict(np.zeros((3, 28, 28))).shape == (3,)  # blank: nothing to misread


def test_feature_rows_that_are_not_images_are_not_pixel_checked():
    rng = np.random.default_rng(0)
    features = rng.random((40, 16))  # 0..1 features (say, an embedding): not pixels, no contract
    clf = models.create("mlp", epochs=1, threads=1).fit(features, np.arange(40) % 2)
    assert clf.predict(features).shape == (40,)


def test_the_rule_itself():
    check_pixel_scale(np.array([[0, 255]], np.uint8))
    check_pixel_scale(np.array([[3.0, 7.0]]))  # a dark image on 0..255 is not mistaken for 0..1
    with pytest.raises(DataFormatError, match=r"largest 1\)"):
        check_pixel_scale(np.array([[0.0, 1.0]]), "X")  # 0/1 binarised pixels: the 0..1 scale too


def _bar(vertical: bool, size=(28, 28), dark_on_light=False, offset=0) -> np.ndarray:
    """A bar image: class 0 vertical, class 1 horizontal; MNIST-style (light on black) or a 'photo'."""
    h, w = size
    canvas = np.zeros((h, w), np.uint8)
    if vertical:
        canvas[h // 5 : 4 * h // 5, w // 2 - w // 10 + offset : w // 2 + w // 10 + offset] = 255
    else:
        canvas[h // 2 - h // 10 : h // 2 + h // 10, w // 5 + offset : 4 * w // 5 + offset] = 255
    return 255 - canvas if dark_on_light else canvas


@pytest.fixture(scope="module")
def bar_run(tmp_path_factory):
    """A run trained on MNIST-style bars, and a labelled folder of the same bars as large dark-on-light photos."""
    from mnistlab import workflows

    root = tmp_path_factory.mktemp("bars")
    rng = np.random.default_rng(0)
    images = np.stack([_bar(i % 2 == 0, offset=int(rng.integers(-2, 3))) for i in range(200)])
    np.savez(root / "bars.npz", images=images, labels=np.arange(200) % 2, classes=np.array(["v", "h"]))
    workflows.train_model(str(root / "bars.npz"), "logreg", test_fraction=0.2, out=root / "run", verbose=0)
    photos = root / "photos"
    for name, vertical in (("v", True), ("h", False)):
        (photos / name).mkdir(parents=True)
        for i in range(6):
            pixels = _bar(vertical, (150 + 10 * i, 120), dark_on_light=True, offset=3 * i)
            Image.fromarray(pixels).convert("RGB").save(photos / name / f"{i}.jpg", quality=95)
    return root / "run", photos


def test_a_labelled_photo_folder_is_scored_the_way_predict_reads_it(bar_run, capsys):
    from mnistlab import serve
    from mnistlab.cli.main import main
    from mnistlab.datasets.preprocess import load_for_prediction

    run, photos = bar_run
    folder = datasets.from_image_folder(photos, preprocess="mnist")
    paths = sorted(photos.glob("*/*.jpg"), key=lambda p: (p.parent.name, int(p.stem)))
    for image, path in zip(folder.images, paths, strict=True):  # one rule: the same 28x28 pixels
        np.testing.assert_array_equal(image, load_for_prediction(path))
    predicted = [p.top[0][0] for p in serve.predict_images(run, paths)]
    expected = np.mean([guess == path.parent.name for guess, path in zip(predicted, paths, strict=True)])
    assert main(["evaluate", str(run), "--test", str(photos), "--preprocess", "mnist"]) == 0
    assert f"accuracy {expected:.4f}" in capsys.readouterr().out
    assert expected >= 0.9  # and it is right: the bars are read as bars


def test_a_photo_folder_without_a_rule_is_refused_with_the_flags_to_choose(bar_run, capsys):
    from mnistlab.cli.main import main

    run, photos = bar_run
    assert main(["evaluate", str(run), "--test", str(photos)]) != 0
    err = capsys.readouterr().err
    assert "expected 28x28" in err and "--preprocess mnist" in err and "--preprocess resize" in err
    assert main(["evaluate", str(run), "--preprocess", "mnist"]) != 0  # no image folder to apply it to
    assert "applies to image folders" in capsys.readouterr().err


def test_a_training_folder_s_rule_is_recorded_and_used_again_by_evaluate(bar_run, tmp_path):
    from mnistlab import runs, workflows

    _, photos = bar_run
    trained = workflows.train_model(
        str(photos), "logreg", test_fraction=0.5, preprocess="mnist", out=tmp_path / "run", verbose=0
    )
    run = runs.load_run(tmp_path / "run")
    assert run.config["data_source"]["train"]["preprocess"] == "mnist"
    again = workflows.evaluate_run(
        tmp_path / "run"
    )  # rebuilt with the recorded rule (else: refused, not 28x28)
    assert again["evaluation"]["accuracy"] == trained.metrics["test_accuracy"]


def test_exif_orientation_is_applied_everywhere_an_image_enters(tmp_path):
    from mnistlab.datasets.decode import decode_gray
    from mnistlab.datasets.preprocess import load_for_prediction

    upright = _bar(True, (120, 80), dark_on_light=True)  # a vertical bar, as the person sees it
    stored = np.rot90(upright, k=1)  # the camera stored it lying down ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and says: rotate 90 degrees clockwise to show it
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    np.testing.assert_allclose(decode_gray(tmp_path / "phone.jpg"), upright, atol=40)
    seen = load_for_prediction(tmp_path / "phone.jpg")
    rows, cols = np.nonzero(seen > 128)
    assert np.ptp(rows) > 2 * np.ptp(cols)  # a tall bar reaches the model, not a lying one
