"""Ink polarity and the rule by which an image reaches a model: a run trained on dark ink on white paper predicts
its own white-paper images right through ``predict`` and the web app (the MNIST way hands it white paper back),
28x28 images of the model's own format are read as stored (``predict`` agrees with ``evaluate``), data of the
other polarity scored as stored is named in a warning, and the web app's ``/model`` names no folder of the disk.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.errors import ParameterError, RunError

N_TRAIN, N_TEST = 1200, 200
SOFTMAX = {"epochs": 20, "lr": 0.003, "threads": 1}  # ~0.8 on 200 test images; chance 0.1


def _split(real_data, white: bool, split: str, n: int) -> datasets.Dataset:
    part = real_data("mnist", "train").subset(
        slice(0, n) if split == "train" else slice(N_TRAIN, N_TRAIN + n)
    )
    images = 255 - part.images if white else part.images
    return datasets.Dataset(images, part.labels, part.classes, "digits", split)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, real_data) -> dict[str, Path]:
    """MNIST digits as 28x28 PNG folders (labels.csv manifests): "dark" as MNIST, "white" inverted (a scan)."""
    root = tmp_path_factory.mktemp("ink")
    made = {}
    for name, white in (("dark", False), ("white", True)):
        for split, n in (("train", N_TRAIN), ("test", N_TEST)):
            made[f"{name}/{split}"] = datasets.export(_split(real_data, white, split, n), root / name, "png")
    return made


def _train(folders, name: str, out: Path) -> Path:
    from mnistlab.workflows import train_model

    train, test = str(folders[f"{name}/train"]), str(folders[f"{name}/test"])
    train_model(train, "softmax", test=test, params=SOFTMAX, seed=0, out=out, verbose=0)
    return out


@pytest.fixture(scope="module")
def white_run(folders, tmp_path_factory) -> Path:
    return _train(folders, "white", tmp_path_factory.mktemp("runs") / "white")


@pytest.fixture(scope="module")
def dark_run(folders, tmp_path_factory) -> Path:
    return _train(folders, "dark", tmp_path_factory.mktemp("runs") / "dark")


def _pngs(folder: Path) -> tuple[list[Path], np.ndarray]:
    manifest = (folder / "labels.csv").read_text().splitlines()[1:]
    rows = [line.split(",") for line in manifest]
    return [folder / file for file, _ in rows], np.array([int(label) for _, label in rows])


def _accuracy(run: Path, paths: list[Path], labels: np.ndarray, **options) -> float:
    from mnistlab.serve import predict_images

    predicted = [int(p.top[0][0]) for p in predict_images(run, paths, **options)]
    return float(np.mean(np.array(predicted) == labels))


def _scale_up(path: Path, out: Path) -> Path:
    """A 28x28 PNG drawn larger (112x112), as a photo or a drawing reaches predict: read the MNIST way."""
    Image.open(path).resize((112, 112), Image.Resampling.BICUBIC).save(out)
    return out


def test_the_run_records_its_training_data_s_ink(white_run, dark_run):
    white = json.loads((white_run / "config.json").read_text())["ink"]
    dark = json.loads((dark_run / "config.json").read_text())["ink"]
    assert white["polarity"] == "dark-on-light" and white["background"] == 255
    assert dark["polarity"] == "light-on-dark" and dark["background"] == 0
    assert white["n_images"] == dark["n_images"] == N_TRAIN


@pytest.mark.parametrize("name", ["white", "dark"])
def test_a_run_predicts_its_own_kind_of_image_through_predict(name, white_run, dark_run, folders, tmp_path):
    """A white-paper run scored 0.99 in evaluate and ~0.06 through predict: predict handed it light on dark."""
    run = white_run if name == "white" else dark_run
    paths, labels = _pngs(folders[f"{name}/test"])
    paths, labels = paths[:60], labels[:60]
    larger = [_scale_up(p, tmp_path / f"{i}.png") for i, p in enumerate(paths)]  # never 28x28: the MNIST way
    assert _accuracy(run, larger, labels) > 0.6
    assert _accuracy(run, paths, labels, preprocess="mnist") > 0.6
    other = (
        "dark" if name == "white" else "white"
    )  # the other polarity, read the MNIST way, is handed over too
    other_paths, other_labels = _pngs(folders[f"{other}/test"])
    assert _accuracy(run, other_paths[:60], other_labels[:60]) > 0.6


def test_the_mnist_way_hands_a_white_paper_model_white_paper(white_run, folders):
    from mnistlab.serve import predict_images

    paths, _ = _pngs(folders["white/test"])
    seen = predict_images(white_run, paths[:3], preprocess="mnist")
    for p in seen:
        assert p.image[0, 0] == 255 and p.image.min() < 64  # white border, dark ink: the training polarity
        assert p.read_as.startswith("read the MNIST way")


@pytest.mark.parametrize("name", ["white", "dark"])
def test_28x28_images_of_the_model_s_format_are_read_as_stored_so_predict_agrees_with_evaluate(
    name, white_run, dark_run, folders, capsys
):
    """Before: every image was re-cropped and re-centred, and predict's accuracy differed from evaluate's."""
    from mnistlab import runs
    from mnistlab.serve import predict_images
    from mnistlab.workflows import evaluate_run

    run = white_run if name == "white" else dark_run
    paths, labels = _pngs(folders[f"{name}/test"])
    stored = datasets.load(str(folders[f"{name}/test"]))
    predictions = predict_images(run, paths, top=1)
    assert {p.read_as for p in predictions} == {"read as stored: 28x28"}
    np.testing.assert_array_equal(np.stack([p.image for p in predictions]), stored.images)
    predicted = np.array([int(p.top[0][0]) for p in predictions])
    np.testing.assert_array_equal(predicted, runs.load(run).predict(stored.images))
    evaluated = evaluate_run(run)["evaluation"]["accuracy"]
    assert float(np.mean(predicted == labels)) == pytest.approx(evaluated)


def test_the_command_line_says_how_each_image_was_read(dark_run, folders, tmp_path, capsys):
    from mnistlab.cli.main import main

    paths, _ = _pngs(folders["dark/test"])
    larger = _scale_up(paths[0], tmp_path / "big.png")
    assert main(["predict", str(dark_run), str(paths[0]), str(larger)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(read as stored: 28x28)")
    assert "(read the MNIST way (cropped to the ink" in out[1]
    assert main(["predict", str(dark_run), str(paths[0]), "--preprocess", "mnist"]) == 0
    assert "read the MNIST way" in capsys.readouterr().out
    assert main(["predict", str(dark_run), str(larger), "--preprocess", "none"]) == 1
    assert "expected 28x28" in capsys.readouterr().err
    assert main(["predict", str(dark_run), str(paths[0]), "--preprocess", "sideways"]) == 1
    err = capsys.readouterr().err
    assert "--preprocess sideways" in err and "'auto'" in err


def test_images_read_as_stored_of_the_other_polarity_are_named_in_a_warning(white_run, folders):
    from mnistlab.serve import predict_images

    paths, _ = _pngs(folders["dark/test"])
    with pytest.warns(
        UserWarning, match=r"3 images read as stored .* are light-on-dark .*trained on dark-on-light"
    ):
        predict_images(white_run, paths[:3], preprocess="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto reads them the MNIST way, handed over white: nothing to warn of
        predict_images(white_run, paths[:3])


def test_evaluate_on_data_of_the_other_polarity_warns_with_the_fix(white_run, folders):
    from mnistlab.workflows import evaluate_run

    with pytest.warns(UserWarning, match=r"are light-on-dark .* trained on dark-on-light .*invert them"):
        evaluate_run(white_run, test=str(folders["dark/test"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_run(white_run, test=str(folders["white/test"]))


def test_evaluate_reads_photos_the_mnist_way_in_the_model_s_polarity(white_run, folders, tmp_path):
    """``--preprocess mnist`` makes light ink on dark; a white-paper run gets it back on white paper."""
    from mnistlab.workflows import evaluate_run

    paths, labels = _pngs(folders["white/test"])
    photos = tmp_path / "photos"
    for i, (path, label) in enumerate(zip(paths[:80], labels[:80], strict=True)):
        (photos / str(label)).mkdir(parents=True, exist_ok=True)
        _scale_up(path, photos / str(label) / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        side = evaluate_run(white_run, test=str(photos), preprocess="mnist")
    assert side["evaluation"]["accuracy"] > 0.6
    # The side evaluation's sha256 is of the data as read, not of the copy turned for the model.
    read = datasets.load(photos, "test", preprocess="mnist")
    assert side["data"]["sha256"] == datasets.fingerprint(read)


def test_a_kaggle_csv_of_the_other_polarity_warns(white_run, real_data, tmp_path):
    from mnistlab.serve import predict_submission

    datasets.export(_split(real_data, False, "test", 50), tmp_path, "csv")
    with pytest.warns(UserWarning, match=r"test.csv are light-on-dark .*invert its pixels"):
        predict_submission(white_run, tmp_path / "test.csv", tmp_path / "submission.csv")


def test_a_run_saved_before_ink_was_recorded_loads_and_reads_the_mnist_way(dark_run, folders, tmp_path):
    """Old runs: the polarity is unknown; nothing is compared, and every image is read the MNIST way, light on
    dark, as predict always did."""
    import shutil

    from mnistlab.serve import predict_images

    old = tmp_path / "old"
    shutil.copytree(dark_run, old)
    config = json.loads((old / "config.json").read_text())
    del config["ink"]
    (old / "config.json").write_text(json.dumps(config))
    paths, _ = _pngs(folders["dark/test"])
    seen = predict_images(old, paths[:2])
    assert {p.read_as.split(" (")[0] for p in seen} == {"read the MNIST way"}


@pytest.mark.parametrize(
    ("ink", "field"),
    [
        ("light", "ink"),
        ({"polarity": "sideways"}, "ink.polarity"),
        ({"polarity": "light-on-dark", "dark_background_fraction": 2}, "ink.dark_background_fraction"),
    ],
)
def test_a_malformed_ink_profile_is_refused_naming_the_field(dark_run, tmp_path, ink, field):
    import shutil

    from mnistlab import runs

    bad = tmp_path / "bad"
    shutil.copytree(dark_run, bad)
    config = json.loads((bad / "config.json").read_text())
    config["ink"] = ink
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match=rf"config.json: {field}="):
        runs.read_config(bad)


def test_an_unknown_rule_is_refused_listing_the_rules(dark_run):
    from mnistlab.serve.predict import Predictor

    with pytest.raises(ParameterError, match="preprocess='sideways'; expected one of 'auto'"):
        Predictor(dark_run, preprocess="sideways")


def test_the_web_app_answers_a_white_paper_run_in_its_polarity_and_names_no_disk_folder(white_run, folders):
    fastapi_testclient = pytest.importorskip("fastapi.testclient")
    from mnistlab.serve.app import create_app

    client = fastapi_testclient.TestClient(create_app(white_run, onnx=False), base_url="http://localhost")
    model = client.get("/model")
    assert model.json()["run"] == "white" and model.json()["data"] == "train"
    assert model.json()["polarity"] == "dark-on-light"
    shown = model.text + client.get("/").text + client.get("/openapi.json").text
    assert str(white_run.parent) not in shown and str(folders["white/train"].parent) not in shown

    paths, labels = _pngs(folders["white/test"])
    right = 0
    for path, label in zip(paths[:40], labels[:40], strict=True):
        big = io.BytesIO()
        Image.open(path).resize((280, 280), Image.Resampling.BICUBIC).save(big, "PNG")  # as the canvas sends
        answer = client.post(
            "/predict?image=true", content=big.getvalue(), headers={"content-type": "image/png"}
        )
        body = answer.json()
        assert body["read_as"].startswith("read the MNIST way") and body["warning"] is None
        assert body["image"][0][0] == 255  # handed over on white paper
        right += body["top"][0]["class"] == str(label)
    assert right >= 24

    dark_pixels = (255 - np.asarray(Image.open(paths[0]))).ravel().tolist()
    body = client.post("/predict", json={"pixels": dark_pixels}).json()
    assert body["read_as"] == "used as given: 784 pixels"
    assert "light-on-dark" in body["warning"] and "trained on dark-on-light" in body["warning"]
    stored = client.post(
        "/predict", content=paths[0].read_bytes(), headers={"content-type": "image/png"}
    ).json()
    assert stored["read_as"] == "read as stored: 28x28" and stored["top"][0]["class"] == str(labels[0])


def test_the_command_line_shows_the_polarity_warning_as_one_line_with_the_flag_to_use(white_run, folders):
    import subprocess
    import sys

    command = ["evaluate", str(white_run), "--test", str(folders["dark/test"])]
    done = subprocess.run(
        [sys.executable, "-c", "from mnistlab.cli import entry; entry()", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "light-on-dark" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: ") and "--preprocess mnist" in warned[0]
    assert "UserWarning" not in done.stderr and "evaluate.py" not in done.stderr


def _bar_on_paper(size: int = 28) -> np.ndarray:
    """A dark vertical bar on white paper, ``size`` x ``size``."""
    paper = np.full((size, size), 255, np.uint8)
    paper[size // 5 : size - size // 5, size // 2 - size // 14 : size // 2 + size // 14] = 0
    return paper


@pytest.mark.parametrize(
    ("pixels", "rule", "polarity", "trained_rule", "read_as", "corner"),
    [
        (_bar_on_paper(), "auto", "dark-on-light", "none", "read as stored: 28x28", 255),
        (255 - _bar_on_paper(), "auto", "light-on-dark", "none", "read as stored: 28x28", 0),
        (_bar_on_paper(), "auto", "light-on-dark", "none", "read the MNIST way (inverted, ", 0),
        (255 - _bar_on_paper(), "auto", "dark-on-light", "none", "read the MNIST way (inverted, ", 255),
        (_bar_on_paper(90), "auto", "dark-on-light", "none", "read the MNIST way (cropped", 255),
        (_bar_on_paper(), "auto", "dark-on-light", "mnist", "read the MNIST way (cropped", 255),
        (_bar_on_paper(), "auto", None, "none", "read the MNIST way (inverted, ", 0),  # an old run: as before
        (_bar_on_paper(), "mnist", "dark-on-light", "none", "read the MNIST way (cropped", 255),
        (
            _bar_on_paper(),
            "none",
            "light-on-dark",
            "none",
            "read as stored: 28x28",
            255,
        ),  # as asked, and warned
        (_bar_on_paper(56), "resize", "dark-on-light", "none", "resized from 56x56", 255),
    ],
)
def test_the_rule_reads_each_image_for_the_model(pixels, rule, polarity, trained_rule, read_as, corner):
    from mnistlab.datasets.preprocess import for_model

    image, how = for_model(pixels, rule, polarity, trained_rule, "bar.png")
    assert image.shape == (28, 28) and image.dtype == np.uint8 and image.flags.writeable
    assert how.startswith(read_as) and image[0, 0] == corner


def test_the_rule_refuses_what_it_cannot_read():
    from mnistlab.datasets.preprocess import for_model
    from mnistlab.errors import DataFormatError

    with pytest.raises(DataFormatError, match="bar.png: image is 90x90, expected 28x28"):
        for_model(_bar_on_paper(90), "none", "dark-on-light", where="bar.png")
    with pytest.raises(DataFormatError, match="blank.png: no ink found"):
        for_model(np.full((40, 40), 255, np.uint8), "auto", "dark-on-light", where="blank.png")
    with pytest.raises(ParameterError, match="preprocess='crop'"):
        for_model(_bar_on_paper(), "crop", "dark-on-light")


def test_match_polarity_turns_images_read_the_mnist_way_and_warns_of_stored_ones():
    from mnistlab.datasets.ink import ink_profile, match_polarity

    paper = np.stack([_bar_on_paper()] * 4)
    config = {"ink": ink_profile(paper).to_dict()}
    light = datasets.Dataset(
        255 - paper, np.array([0, 1, 0, 1]), ["a", "b"], "scans", "test", source="scans/"
    )
    turned = match_polarity(config, light, "mnist")
    np.testing.assert_array_equal(turned.images, paper)
    with pytest.warns(UserWarning, match=r"scans/ are light-on-dark .* trained on dark-on-light"):
        assert match_polarity(config, light, "none") is light
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert match_polarity({}, light, "none") is light  # a run without a profile: not compared
        assert match_polarity(config, turned, "none") is turned
