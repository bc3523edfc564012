"""The web app: every endpoint and every bad request through FastAPI's test client, the command line's server, and
a real browser drawing digits on the page (Debian's chromium, driven by Playwright).

The HTTP plumbing (bad requests, limits, the query rule, the prediction and explanation slots) is tested on the
app with a stub predictor (``stub_app``: no model trained); what a model answers, on small trained runs."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError
from tests.conftest import StubPredictor

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)
fastapi_testclient = pytest.importorskip("fastapi.testclient")
from mnistlab.serve.app import create_app  # noqa: E402


def local_client(app):
    """A test client that talks to the app as a browser on this machine does (Host: localhost)."""
    return fastapi_testclient.TestClient(app, base_url="http://localhost")


SCREENSHOTS = Path(
    os.environ.get("MNISTLAB_SCREENSHOTS", Path(__file__).parents[1] / "reports" / "screenshots")
)


@pytest.fixture(scope="module")
def stub_client(stub_app):
    """The app with a stub predictor (tests/conftest.py): what the server's plumbing, limits and bad requests are
    tested on."""
    return local_client(stub_app())


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, blobs) -> Path:
    """A small mlp on synthetic images (three bright bands; no real data, ~2 s): what the answers of a real model
    (conformal sets, engines, the command line's server) are tested on."""
    from mnistlab.workflows import evaluate_run, train_model

    folder = tmp_path_factory.mktemp("toy")
    X, y = blobs(300)
    datasets.export(datasets.Dataset(X, y, TOY_CLASSES, "bands", "train"), folder / "data", "npz")
    out = folder / "mlp"
    data = str(folder / "data" / "train.npz")
    train_model(data, "mlp", test_fraction=0.2, params={"epochs": 2, "threads": 1}, out=out, verbose=0)
    evaluate_run(out)
    return out


TOY_CLASSES = ["left", "middle", "right"]


@pytest.fixture(scope="module")
def client(toy_run):
    return local_client(create_app(toy_run))


@pytest.fixture(scope="module")
def digit_run(tmp_path_factory, real_data) -> Path:
    """A small cnn trained on real MNIST (20000 images, 1 epoch: ~98% test accuracy, ~10 s): what the answers to
    real and drawn digits are tested on."""
    from mnistlab.workflows import evaluate_run, train_model

    out = tmp_path_factory.mktemp("serve") / "cnn"
    params = {"epochs": 1, "threads": 2}
    train_model("mnist", "cnn", params=params, limit=20000, out=out, verbose=0)
    evaluate_run(out)
    return out


@pytest.fixture(scope="module")
def digit_client(digit_run):
    return local_client(create_app(digit_run))


@pytest.fixture(scope="module")
def test_digits(real_data) -> tuple[np.ndarray, np.ndarray]:
    test = real_data("mnist", "test")
    return test.images[:200], test.labels[:200]


def png_bytes(pixels: np.ndarray, scale: int = 1, invert: bool = False) -> bytes:
    image = Image.fromarray(255 - pixels if invert else pixels)
    if scale > 1:
        image = image.resize((28 * scale, 28 * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def drawn_seven() -> bytes:
    """A 7 drawn black on white, as the page's canvas sends it."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (120, 230)], fill=0, width=20, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A ~2 KB PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


# -- the endpoints ------------------------------------------------------------------------------------------


def test_upload_of_real_test_digits_gives_their_classes(digit_client, test_digits):
    images, labels = test_digits
    right = 0
    for pixels, label in zip(
        images[:40], labels[:40], strict=True
    ):  # photographed-style: dark ink on white, 4x
        answer = digit_client.post(
            "/predict", content=png_bytes(pixels, 4, invert=True), headers={"content-type": "image/png"}
        ).json()
        right += answer["top"][0]["class"] == str(label)
    assert right >= 37, f"only {right} of 40 test digits predicted right after upload preprocessing"


def test_prediction_answer_layout(digit_client):
    response = digit_client.post(
        "/predict?top=4&image=true", content=drawn_seven(), headers={"content-type": "image/png"}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["model"] == "cnn" and answer["data"] == "mnist" and answer["kind"] == "probability"
    assert answer["top"][0]["class"] == "7"
    values = [c["value"] for c in answer["top"]]
    assert len(values) == 4 and values == sorted(values, reverse=True) and 0.5 < sum(values) <= 1 + 1e-6
    seen = np.asarray(answer["image"])
    assert (
        seen.shape == (28, 28) and seen.max() > 200 and seen[0].max() == 0
    )  # light ink on black, margin kept
    assert (
        digit_client.post("/predict", content=drawn_seven(), headers={"content-type": "image/png"}).json()[
            "image"
        ]
        is None
    )


def test_upload_json_and_multipart_go_through_the_same_preprocessing(digit_client, digit_run):
    from mnistlab.datasets.preprocess import load_for_prediction
    from mnistlab.serve import predict_images

    png = drawn_seven()
    raw = digit_client.post(
        "/predict?image=true&top=10", content=png, headers={"content-type": "image/png"}
    ).json()
    form = digit_client.post(
        "/predict?image=true&top=10", files={"file": ("seven.png", png, "image/png")}
    ).json()
    encoded = base64.b64encode(png).decode()
    as_json = digit_client.post("/predict?image=true&top=10", json={"image": encoded}).json()
    as_url = digit_client.post(
        "/predict?image=true&top=10", json={"image": "data:image/png;base64," + encoded}
    ).json()
    assert raw == form == as_json == as_url
    np.testing.assert_array_equal(raw["image"], load_for_prediction(png))
    path = digit_run.parent / "seven.png"
    path.write_bytes(png)
    cli = predict_images(digit_run, [path], top=10, onnx=True)[0]
    assert [c["class"] for c in raw["top"]] == [name for name, _ in cli.top]
    np.testing.assert_allclose([c["value"] for c in raw["top"]], [v for _, v in cli.top], rtol=1e-5)


def test_json_pixels_are_used_as_given(digit_client, test_digits):
    images, labels = test_digits
    answer = digit_client.post("/predict?image=true", json={"pixels": images[0].ravel().tolist()}).json()
    np.testing.assert_array_equal(answer["image"], images[0])
    assert answer["top"][0]["class"] == str(labels[0])


def test_top_is_capped_at_the_number_of_classes(client):
    answer = client.post(
        "/predict?top=50", content=drawn_seven(), headers={"content-type": "image/png"}
    ).json()
    assert sorted(c["class"] for c in answer["top"]) == sorted(TOY_CLASSES)


def test_health_model_and_docs(digit_client, digit_run):
    assert digit_client.get("/health").json()["status"] == "ok"
    model = digit_client.get("/model").json()
    assert model["classes"] == [str(d) for d in range(10)] and model["kind"] == "digits"
    from mnistlab.serve.engine import choose_engine

    # ONNX Runtime is installed with the dev extras: the engine is the one measured faster here (and cached)
    assert model["engine"] == choose_engine(digit_run)["engine"]
    assert 0.95 < model["metrics"]["test_accuracy"] <= 1
    assert "/predict" in digit_client.get("/openapi.json").json()["paths"]
    assert digit_client.get("/docs").status_code == 200


def test_page_and_its_script_are_served_with_no_external_resources(stub_client):
    client = stub_client
    page = client.get("/")
    assert page.status_code == 200 and 'id="pad"' in page.text
    for name in ("app.js", "app.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and "http" not in asset.text.replace("/static", "")
    assert "http" not in page.text  # no CDN, no web fonts


@pytest.mark.parametrize("faster", ["pytorch", "onnxruntime"])
def test_the_default_engine_is_the_one_measured_faster(toy_run, faster, monkeypatch, tmp_home):
    pytest.importorskip("onnxruntime")
    from mnistlab.models import precision
    from mnistlab.serve import engine

    monkeypatch.setattr(precision, "_CHOSEN", {})
    timings = (
        {"pytorch": 0.002, "onnxruntime": 0.001}
        if faster == "onnxruntime"
        else {"pytorch": 0.001, "onnxruntime": 0.002}
    )
    calls = []

    def measure(name):
        calls.append(name)
        return timings[name]

    assert engine.choose_engine(toy_run, measure=measure)["engine"] == faster
    assert sorted(set(calls)) == ["onnxruntime", "pytorch"] and len(calls) == 2 * engine.ROUNDS
    # the app asks again: answered from the cache, nothing timed
    assert local_client(create_app(toy_run)).get("/model").json()["engine"] == faster
    assert len(calls) == 2 * engine.ROUNDS


def test_the_answer_holds_a_conformal_prediction_set(digit_client, test_digits):
    """Real MNIST test digits through the app: the 90% sets hold the true class about 90% of the time (the run
    is calibrated on its validation split), a stricter alpha gives larger sets, and the page shows them."""
    images, labels = test_digits
    held, sizes = {0.1: [], 0.01: []}, {0.1: [], 0.01: []}
    for pixels, label in zip(images[:100], labels[:100], strict=True):
        for alpha in held:
            answer = digit_client.post(
                f"/predict?alpha={alpha}", json={"pixels": pixels.ravel().tolist()}
            ).json()
            assert answer["alpha"] == alpha
            held[alpha].append(str(label) in answer["prediction_set"])
            sizes[alpha].append(len(answer["prediction_set"]))
    assert np.mean(held[0.01]) >= 0.96 and np.mean(held[0.1]) >= 0.8
    assert np.mean(sizes[0.01]) >= np.mean(sizes[0.1])
    page = digit_client.get("/static/app.js").text
    assert "prediction set" in page and "answer.prediction_set" in page


def test_the_set_is_never_empty_by_default_and_an_empty_one_says_what_it_means(client, toy_run, tmp_path):
    """The default set (split-nonempty) always holds the top class; a method that can give an empty set
    (split, at an alpha where it does) answers what an empty set means, and the page shows that text; an
    unknown method is refused with the list, and APS on a run saved before format 3 says why."""
    import shutil
    import typing

    from mnistlab.models.calibration import METHODS
    from mnistlab.serve.routers.prediction import SetMethod
    from tests.test_calibration import make_format_2

    assert typing.get_args(SetMethod) == METHODS
    seven = {"content": drawn_seven(), "headers": {"content-type": "image/png"}}
    default = client.post("/predict?alpha=0.9", **seven).json()
    assert default["method"] == "split-nonempty" and default["empty_set_means"] is None
    assert default["prediction_set"] == [default["top"][0]["class"]]
    empty = client.post("/predict?alpha=0.9&method=split", **seven).json()
    assert empty["prediction_set"] == [] and empty["method"] == "split"
    assert empty["empty_set_means"].startswith("An empty 10% set: the model is less sure of every class")
    for method in ("aps", "raps", "class-conditional"):
        answer = client.post(f"/predict?method={method}", **seven).json()
        assert answer["method"] == method and (answer["empty_set_means"] is None) == (
            method in ("aps", "raps")
        )
        assert answer["prediction_set"], method
    script = client.get("/static/app.js").text
    assert "answer.empty_set_means" in script and "answer.method" in script  # shown with an empty set
    assert "a set can\n      be empty" in client.get("/").text or "be empty" in client.get("/").text
    refused = client.post("/predict?method=lac", **seven)
    assert refused.status_code == 422 and "split-nonempty" in refused.text
    shutil.copytree(toy_run, tmp_path / "old")
    make_format_2(tmp_path / "old")
    old = local_client(create_app(tmp_path / "old", onnx=False))
    assert old.post("/predict", **seven).json()["prediction_set"]
    answer = old.post("/predict?method=aps", **seven)
    assert answer.status_code == 400 and "format 3" in answer.json()["detail"]


def test_the_answer_can_say_which_pixels_drove_it(digit_client, test_digits):
    images, _ = test_digits
    answer = digit_client.post("/predict?explain=true", json={"pixels": images[0].ravel().tolist()}).json()
    heat = np.asarray(answer["explanation"])
    assert heat.shape == (28, 28) and np.abs(heat).max() == pytest.approx(1, abs=1e-3)
    assert np.abs(heat[images[0] == 0]).max() == 0, (
        "integrated gradients from black: no credit to empty paper"
    )
    plain = digit_client.post("/predict", json={"pixels": images[0].ravel().tolist()}).json()
    assert plain["explanation"] is None


def test_a_run_without_calibration_answers_without_a_set(tmp_path, blobs, client):
    from mnistlab import models, runs

    answer = client.post("/predict", content=drawn_seven(), headers={"content-type": "image/png"}).json()
    assert answer["prediction_set"] is not None  # the toy run was trained with a validation split
    X, y = blobs(90)
    clf = models.create("mlp", epochs=1, threads=1).fit(X, y)  # no validation split: nothing to calibrate on
    runs.save(tmp_path / "plain", clf, model="mlp", data="bands", classes=TOY_CLASSES)
    plain = local_client(create_app(tmp_path / "plain", onnx=False))
    answer = plain.post("/predict", content=drawn_seven(), headers={"content-type": "image/png"}).json()
    assert answer["prediction_set"] is None and answer["alpha"] is None and answer["top"]
    forest = models.create("logreg").fit(X.reshape(len(X), -1), y)
    runs.save(tmp_path / "linear", forest, model="logreg", data="bands", classes=TOY_CLASSES)
    linear = local_client(create_app(tmp_path / "linear"))
    answer = linear.post(
        "/predict?explain=true", content=drawn_seven(), headers={"content-type": "image/png"}
    )
    assert (
        answer.status_code == 200 and answer.json()["explanation"] is None
    )  # no gradients: no map, no error


def test_onnx_and_pytorch_engines_give_the_same_answer(toy_run):
    """The two engines are asked for by name (the default client takes whichever was measured faster here, so it
    may be PyTorch against PyTorch): ONNX Runtime's answer is PyTorch's, every class, to float32 rounding."""
    pytest.importorskip("onnxruntime")
    engines = {
        engine: local_client(create_app(toy_run, onnx=engine == "onnxruntime"))
        for engine in ("pytorch", "onnxruntime")
    }
    answers = {}
    for engine, served in engines.items():
        assert served.get("/model").json()["engine"] == engine
        answer = served.post("/predict?top=3", content=drawn_seven(), headers={"content-type": "image/png"})
        answers[engine] = {c["class"]: c["value"] for c in answer.json()["top"]}
    assert list(answers["onnxruntime"]) == list(answers["pytorch"]) and len(answers["pytorch"]) == 3
    np.testing.assert_allclose(
        list(answers["onnxruntime"].values()), list(answers["pytorch"].values()), atol=1e-5
    )


# -- bad requests: a JSON error with the right status, and the server keeps serving ------------------------

SEVEN_B64 = base64.b64encode(drawn_seven()).decode()
SEVEN_JSON = b'{"image": "%s"}' % SEVEN_B64.encode()
INKED = str([0] * 783 + [200]).encode()
FORM_B = {"content-type": "multipart/form-data; boundary=b"}
NOISE_PNG = png_bytes(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8), 4)
BAD_REQUESTS = {
    "over the size limit": (
        dict(content=b"\x89PNG" + b"x" * 2_100_000, headers={"content-type": "image/png"}),
        413,
    ),
    "not an image": (dict(content=b"hello, world", headers={"content-type": "image/png"}), 400),
    "corrupt png": (
        dict(content=NOISE_PNG[: len(NOISE_PNG) // 2], headers={"content-type": "image/png"}),
        400,
    ),
    "empty body": (dict(content=b"", headers={"content-type": "image/png"}), 400),
    "decompression bomb": (
        dict(content=png_claiming(20000, 20000), headers={"content-type": "image/png"}),
        400,
    ),
    "blank canvas": (
        dict(content=png_bytes(np.full((28, 28), 255, np.uint8)), headers={"content-type": "image/png"}),
        400,
    ),
    "unsupported type": (dict(content=b"hello", headers={"content-type": "text/plain"}), 415),
    "no content type": (dict(content=b"hello"), 415),
    "multipart without a file": (dict(files={"note": (None, "hello")}), 400),
    "json not json": (dict(content=b"{", headers={"content-type": "application/json"}), 422),
    "json too few pixels": (dict(json={"pixels": [0] * 783}), 422),
    "json pixel over 255": (dict(json={"pixels": [0] * 783 + [256]}), 422),
    "json negative pixel": (dict(json={"pixels": [-1] + [0] * 783}), 422),
    "json pixel not a number": (dict(json={"pixels": ["a"] * 784}), 422),
    "json both inputs": (dict(json={"pixels": [0] * 784, "image": "AAAA"}), 422),
    "json neither input": (dict(json={}), 422),
    "json unknown field": (dict(json={"pixels": [0] * 784, "path": "/etc/passwd"}), 422),
    "json bad base64": (dict(json={"image": "not base64!"}), 422),
    "json base64 of a text": (dict(json={"image": base64.b64encode(b"hello").decode()}), 400),
    # every malformed body is a 4xx with a message (issue 37: a data URL without a comma was a 500)
    "data url without a comma": (dict(json={"image": "data:image/png;base64"}), 422),
    "data url without a comma or type": (dict(json={"image": "data:"}), 422),
    "data url of text": (dict(json={"image": "data:text/plain;base64," + SEVEN_B64}), 422),
    "data url of no type": (dict(json={"image": "data:;base64," + SEVEN_B64}), 422),
    "data url not base64": (dict(json={"image": "data:image/png," + SEVEN_B64}), 422),
    "data url of bad base64": (dict(json={"image": "data:image/png;base64,@@@"}), 422),
    "base64 with line breaks": (dict(json={"image": SEVEN_B64[:40] + "\n" + SEVEN_B64[40:]}), 422),
    "base64 unpadded": (dict(json={"image": SEVEN_B64.rstrip("=") + "A"}), 422),
    "base64 url-safe": (dict(json={"image": SEVEN_B64.replace("+", "-").replace("/", "_") + "-_"}), 422),
    "base64 not ascii": (dict(json={"image": "é" * 8}), 422),
    "empty image": (dict(json={"image": ""}), 422),
    "image not a string": (dict(json={"image": 7}), 422),
    "image a list": (dict(json={"image": [SEVEN_B64]}), 422),
    "json null pixels": (dict(json={"pixels": None}), 422),
    "json null pixels beside an image": (dict(json={"pixels": None, "image": SEVEN_B64}), 422),
    "json pixels as a string": (dict(json={"pixels": "0," * 783 + "9"}), 422),
    "json pixels as 28 rows": (dict(json={"pixels": [[0] * 27 + [9]] * 28}), 422),
    "json pixels as an object": (dict(json={"pixels": {"0": 9}}), 422),
    "json a list": (dict(json=[0] * 784), 422),
    "json a string": (dict(json="pixels"), 422),
    "json null": (dict(content=b"null", headers={"content-type": "application/json"}), 422),
    "json empty body": (dict(content=b"", headers={"content-type": "application/json"}), 422),
    "json nested deeply": (dict(content=b"[" * 100_000, headers={"content-type": "application/json"}), 422),
    "json not utf-8": (dict(content=b'{"image": "\xff"}', headers={"content-type": "application/json"}), 422),
    "json in utf-16": (
        dict(content='{"pixels": null}'.encode("utf-16"), headers={"content-type": "application/json"}),
        422,
    ),
    "json with a byte-order mark": (
        dict(content=b"\xef\xbb\xbf" + SEVEN_JSON, headers={"content-type": "application/json"}),
        422,
    ),
    "json number of 5000 digits": (
        dict(content=b'{"pixels": [' + b"9" * 5000 + b"]}", headers={"content-type": "application/json"}),
        422,
    ),
    "json NaN pixels": (
        dict(content=b'{"pixels": [' + b"NaN," * 783 + b"9]}", headers={"content-type": "application/json"}),
        422,
    ),
    # one strict rule for JSON: no key twice, no booleans, digit strings or decimals as pixels
    "json key twice": (
        dict(
            content=b'{"pixels": %s, "pixels": %s}' % (INKED, INKED),
            headers={"content-type": "application/json"},
        ),
        422,
    ),
    "json key twice, escaped": (
        dict(content=b'{"image": "A", "im\\u0061ge": "B"}', headers={"content-type": "application/json"}),
        422,
    ),
    "json boolean pixels": (dict(json={"pixels": [False] * 783 + [True]}), 422),
    "json digit-string pixels": (dict(json={"pixels": ["0"] * 783 + ["9"]}), 422),
    "json decimal pixels": (dict(json={"pixels": [0.0] * 783 + [9.0]}), 422),
    "json fractional pixels": (dict(json={"pixels": [0] * 783 + [9.5]}), 422),
    # and the rule of uploads for both paths: an image of one flat shade has no ink and no answer
    "json blank pixels": (dict(json={"pixels": [0] * 784}), 400),
    "json all-255 pixels": (dict(json={"pixels": [255] * 784}), 400),
    "json one grey shade": (dict(json={"pixels": [17] * 784}), 400),
    "blank 28x28 of the model's polarity": (
        dict(content=png_bytes(np.zeros((28, 28), np.uint8)), headers={"content-type": "image/png"}),
        400,
    ),
    "one grey shade upload": (
        dict(content=png_bytes(np.full((28, 28), 90, np.uint8), 3), headers={"content-type": "image/png"}),
        400,
    ),
    "blank canvas in a form": (
        dict(files={"file": ("blank.png", png_bytes(np.full((28, 28), 255, np.uint8), 10), "image/png")}),
        400,
    ),
    "multipart without a boundary": (
        dict(content=b"--b\r\n\r\n", headers={"content-type": "multipart/form-data"}),
        400,
    ),
    "multipart empty file": (dict(files={"file": ("7.png", b"", "image/png")}), 400),
    "multipart cut short": (
        dict(content=b'--b\r\nContent-Disposition: form-data; name="f"; filename="7.png"', headers=FORM_B),
        400,
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_request_gets_a_json_error_and_the_server_keeps_serving(stub_client, case):
    client = stub_client
    kwargs, status = BAD_REQUESTS[case]
    response = client.post("/predict", **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json" and response.json()["detail"]
    if status == 400 and ("blank" in case or "shade" in case or "255" in case):
        assert "no ink found (the image is one flat shade)" in response.json()["detail"]
    if status == 422 and "json" in case and "key twice" in case:
        assert "is given twice" in response.text
    assert (
        client.post("/predict", content=drawn_seven(), headers={"content-type": "image/png"}).status_code
        == 200
    )


def test_bad_query_values_and_routes(stub_client):
    client = stub_client
    png, headers = drawn_seven(), {"content-type": "image/png"}
    assert client.post("/predict?top=0", content=png, headers=headers).status_code == 422
    assert client.post("/predict?top=three", content=png, headers=headers).status_code == 422
    for alpha in ("0", "1", "-0.1", "nan", "ten"):
        assert client.post(f"/predict?alpha={alpha}", content=png, headers=headers).status_code == 422, alpha
    assert client.get("/nowhere").status_code == 404
    assert client.get("/predict").status_code == 405 and client.delete("/model").status_code == 405
    for sneaky in (
        "/static/index.html",
        "/static/..%2Fapp.py",
        "/static/%2E%2E/%2E%2E/runs.py",
        "/config.json",
    ):
        assert client.get(sneaky).status_code == 404, sneaky


def json_values():
    from hypothesis import strategies as st

    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
        max_leaves=12,
    )


def hostile_bodies():
    """Bodies of every shape a client could send: bytes, any JSON, objects of the request's fields with any
    values, pixel lists of any members, data URLs with any header."""
    import json

    from hypothesis import strategies as st

    fields = st.dictionaries(st.sampled_from(["pixels", "image", "path"]), json_values(), max_size=3)
    pixels = st.lists(st.integers(-2, 300) | st.booleans() | st.floats(0, 255), min_size=783, max_size=785)
    header = st.text(max_size=30) | st.sampled_from(
        ["image/png;base64", "image/jpeg;base64", "image/png", ""]
    )
    payload = st.sampled_from(["", SEVEN_B64, SEVEN_B64[:10], "@@", "AAAA"])
    data_url = st.tuples(header, st.sampled_from(["", ","]), payload).map(
        lambda t: {"image": "data:" + "".join(t)}
    )
    as_json = st.one_of(json_values(), fields, pixels.map(lambda p: {"pixels": p}), data_url)
    return st.one_of(st.binary(max_size=200), as_json.map(lambda v: json.dumps(v).encode()))


def test_any_body_is_answered_or_refused_with_a_4xx_never_a_500(stub_client):
    """The class of issue 37's data URL without a comma: whatever the body and its content type, the answer is a
    prediction or a 4xx with a JSON message (the test client raises on any server error)."""
    client = stub_client
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    media = st.sampled_from(
        ["application/json", "multipart/form-data; boundary=b", "image/png", "image/jpeg", "text/plain", ""]
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=hostile_bodies(), content_type=media)
    def answered_or_refused(body: bytes, content_type: str) -> None:
        response = client.post("/predict", content=body, headers={"content-type": content_type})
        assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
        assert response.json()

    answered_or_refused()


def test_blank_images_are_refused_by_one_rule_on_every_path(client, toy_run, tmp_path):
    """A blank image has no answer, whichever way it comes: JSON pixels used as given, an upload of the model's
    own format read as stored, any other read the MNIST way, and ``mnistlab predict`` on a file."""
    from mnistlab.errors import DataFormatError
    from mnistlab.serve import predict_images

    for shade in (0, 1, 128, 254, 255):
        flat = np.full((28, 28), shade, np.uint8)
        answers = [
            client.post("/predict", json={"pixels": flat.ravel().tolist()}),
            client.post("/predict", content=png_bytes(flat), headers={"content-type": "image/png"}),
            client.post("/predict", files={"file": ("f.png", png_bytes(flat, 5), "image/png")}),
            client.post("/predict", json={"image": base64.b64encode(png_bytes(flat)).decode()}),
        ]
        for answer in answers:
            assert answer.status_code == 400 and "no ink found" in answer.json()["detail"], (
                shade,
                answer.text,
            )
        (tmp_path / "flat.png").write_bytes(png_bytes(flat))
        for rule in ("auto", "none", "resize", "mnist"):
            with pytest.raises(DataFormatError, match="flat.png: no ink found"):
                predict_images(toy_run, [tmp_path / "flat.png"], preprocess=rule)
    one_dot = np.zeros(784, int)
    one_dot[400] = 1  # the faintest ink is still ink: used as given, answered
    assert client.post("/predict", json={"pixels": one_dot.tolist()}).status_code == 200


def test_plain_predictions_keep_their_slots_while_explanations_are_all_busy(stub_app):
    """Explanations (integrated gradients, tens of predictions' work each) have their own smaller share: with
    every explanation slot held and more explanations waiting, a plain prediction is still answered, and no more
    explanations than their share run at once. Before, they shared the prediction slots (issue 37: 8 clients
    asking for explanations took plain predictions from 3 ms to 284 ms)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from mnistlab.serve.dependencies import EXPLANATION_SLOTS, PREDICTION_SLOTS

    release, entered = threading.Event(), threading.Semaphore(0)
    running = []

    class HeldExplanations(StubPredictor):
        def explain(self, image):
            running.append(1)
            entered.release()
            release.wait(120)  # until the test has its answer (a bound against a hang, never a measure)
            return None

    share = EXPLANATION_SLOTS
    waiting = PREDICTION_SLOTS + 1  # more than every slot predictions have
    seven = {"content": drawn_seven(), "headers": {"content-type": "image/png"}}
    app = stub_app(predictor=HeldExplanations())
    with local_client(app) as client, ThreadPoolExecutor(waiting) as pool:
        try:
            asked = [pool.submit(client.post, "/predict?explain=true", **seven) for _ in range(waiting)]
            for _ in range(share):
                assert entered.acquire(timeout=120), "the explanations never started"
            plain = client.post("/predict", **seven)
            assert plain.status_code == 200 and plain.json()["explanation"] is None
            assert len(running) == share, "explanations ran beyond their share"
        finally:
            release.set()
        assert [future.result().status_code for future in asked] == [200] * waiting
    assert len(running) == waiting


def test_the_query_is_read_by_the_same_strict_rule(stub_client):
    """A query parameter given twice, or one the route does not know (a typo would be ignored silently), is a
    422 naming it; the parameters the route knows are exactly its signature's query parameters."""
    from mnistlab.serve.routers.prediction import PREDICT_QUERY, router

    client = stub_client
    seven = {"content": drawn_seven(), "headers": {"content-type": "image/png"}}
    for query, named in [
        ("top=3&top=5", "'top' is given 2 times"),
        ("explain=true&explain=false", "'explain' is given 2 times"),
        ("tpo=5", "unknown query parameter 'tpo'"),
        ("top=3&path=/etc/passwd", "unknown query parameter 'path'"),
    ]:
        answer = client.post(f"/predict?{query}", **seven)
        assert answer.status_code == 422 and named in answer.text, (query, answer.text)
    assert (
        client.post("/predict?top=2&image=true&alpha=0.2&method=split&explain=false", **seven).status_code
        == 200
    )
    route = next(r for r in router.routes if r.path == "/predict")
    assert {parameter.name for parameter in route.dependant.query_params} == set(PREDICT_QUERY)


def test_streamed_upload_without_length_is_refused(stub_app):
    from mnistlab.serve.dependencies import Settings

    client = local_client(stub_app(Settings(max_upload_bytes=50_000)))
    chunks = (b"x" * 10_000 for _ in range(10))  # no Content-Length: counted while read
    response = client.post("/predict", content=chunks, headers={"content-type": "image/png"})
    assert response.status_code == 413 and "50000" in response.json()["detail"]


def test_create_app_s_upload_limit_and_host_names_reach_the_routes(toy_run):
    png = drawn_seven()
    small = local_client(create_app(toy_run, max_upload_bytes=len(png) - 1))
    assert small.post("/predict", content=png, headers={"content-type": "image/png"}).status_code == 413
    assert small.post("/predict", files={"file": ("7.png", png, "image/png")}).status_code == 413
    lan = create_app(toy_run, max_upload_bytes=len(png), allowed_hosts=["mnist.lan"])
    opened = fastapi_testclient.TestClient(lan, base_url="http://mnist.lan")
    assert opened.post("/predict", content=png, headers={"content-type": "image/png"}).status_code == 200
    assert opened.get("/health", headers={"host": "localhost"}).status_code == 400
    with pytest.raises(MnistlabError, match="max_upload_bytes=0; expected a positive number of bytes"):
        create_app(toy_run, max_upload_bytes=0)


def test_the_stub_app_has_the_real_app_s_routes_and_schema(toy_run, stub_app):
    """The plumbing tests' app is create_app's wiring with the model left out: the same routes, methods and
    API schema (but for the summary naming the model)."""
    real, stub = create_app(toy_run, onnx=False), stub_app()

    def routes(app):  # an included router is one route of the app (FastAPI 0.165 resolves its routes lazily)
        return [getattr(route, "original_router", None) or route.path for route in app.routes]

    assert routes(real) == routes(stub)
    real_schema, stub_schema = real.openapi(), stub.openapi()
    assert real_schema["info"].pop("summary") == "mlp on train.npz" and "summary" not in stub_schema["info"]
    assert real_schema == stub_schema


_WRITES: list | None = None  # while a list: every file opened for writing, from Python's audit events


def _record_writes(event: str, args: tuple) -> None:
    if _WRITES is None or event != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
    )
    if writing:
        _WRITES.append(path)


@contextlib.contextmanager
def files_opened_for_writing():
    """Every file opened for writing inside the block, in any thread, named or not (a rolled-over
    SpooledTemporaryFile is an unnamed O_TMPFILE: listing a folder would never see it)."""
    global _WRITES
    if _record_writes not in _AUDIT_HOOKS:
        sys.addaudithook(_record_writes)  # audit hooks cannot be removed: installed once, active in the block
        _AUDIT_HOOKS.append(_record_writes)
    _WRITES = found = []
    try:
        yield found
    finally:
        _WRITES = None


_AUDIT_HOOKS: list = []


def test_uploads_are_never_written_to_disk(stub_client):
    import tempfile

    # The detector itself first: a spooled file that rolls over is seen.
    with files_opened_for_writing() as seen, tempfile.SpooledTemporaryFile(max_size=10) as spool:
        spool.write(b"x" * 100)
    assert seen, "the audit hook sees an unnamed temporary file"
    noise = np.random.default_rng(1).integers(0, 256, (1100, 1100), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    big = buffer.getvalue()
    assert len(big) > 1_100_000  # past the 1 MB where Starlette's form parser would spool a file to disk
    with files_opened_for_writing() as written:
        assert stub_client.post("/predict", files={"file": ("big.png", big, "image/png")}).status_code == 200
    assert written == []


def test_create_app_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(MnistlabError):
        create_app(tmp_path)


# -- the command line ----------------------------------------------------------------------------------------


def test_serve_command_errors_are_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_serve_command_refuses_a_busy_port(toy_run, capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        assert main(["serve", str(toy_run), "--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def server(toy_run, command_server):
    with command_server("serve", str(toy_run)) as url:
        yield url


@pytest.fixture(scope="module")
def digit_server(digit_run, command_server):
    with command_server("serve", str(digit_run)) as url:
        yield url


def test_server_refuses_a_long_upload_before_reading_it(server):
    """A chunked upload with no Content-Length: the 413 arrives once the 2 MB limit is passed, not after the 100 MB
    the client would send."""
    import select
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(server)
    sent, chunk = 0, b"x" * 65536
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:  # a hang guard only
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 100_000_000 and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    assert b"application/json" in reply
    assert sent < 20_000_000, f"{sent} bytes sent before the server refused"


def test_served_over_http(server):
    import httpx

    assert httpx.get(f"{server}/health").json()["status"] == "ok"
    answer = httpx.post(
        f"{server}/predict", content=drawn_seven(), headers={"content-type": "image/png"}
    ).json()
    assert answer["model"] == "mlp" and {c["class"] for c in answer["top"]} <= set(TOY_CLASSES)


# -- a real browser ------------------------------------------------------------------------------------------

STROKES = {  # on the 280x280 pad, as a person would draw them
    "1": [[(150, 40), (140, 240)]],
    "7": [[(70, 60), (210, 60), (120, 235)]],
    "0": [[(140 + 65 * np.sin(t), 140 - 95 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]],
    "4": [[(170, 40), (70, 170), (210, 170)], [(170, 90), (170, 245)]],
}


def draw(page, strokes) -> None:
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.mouse.up()


def top_class(page) -> str:
    """The top class shown once the page has answered the last stroke (it answers while drawing, too: reading
    after a fixed wait raced with a slow last answer under load, and read a half-drawn 0 as a 7)."""
    page.locator("#results .bar").first.wait_for()  # (no string predicates: the page's CSP forbids eval)
    page.locator('#results[aria-busy="false"]').wait_for()
    return page.locator("#results .bar").first.get_attribute("data-class")


def test_browser_draws_digits_uploads_and_clears(digit_server, browser, tmp_path, test_digits):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 820, "height": 640})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(msg.text))
    page.goto(digit_server)
    expect(page.locator("#model-line")).to_contain_text("cnn")
    assert page.locator("#prompt").text_content() == "Draw a digit"
    for digit, strokes in STROKES.items():
        page.click("#clear")
        assert page.locator("#results .bar").count() == 0
        draw(page, strokes)
        assert top_class(page) == digit, f"drew a {digit}"
        bar, track = (
            page.locator(f"#results .bar .{part}").first.bounding_box() for part in ("fill", "track")
        )
        value = float(page.locator("#results .bar .value").first.text_content().rstrip("%")) / 100
        assert bar["width"] == pytest.approx(value * track["width"], abs=2), (
            "the bar's length is its probability"
        )
        expect(page.locator("#prediction-set")).to_contain_text("90% prediction set: {")
        assert digit in page.locator("#prediction-set").text_content(), "the set holds the drawn digit"
        expect(page.locator("#why")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / f"serve-drawn-{digit}.png")
        seen = page.evaluate(
            "Array.from(document.getElementById('seen').getContext('2d')"
            ".getImageData(0, 0, 28, 28).data).filter((v, i) => i % 4 == 0)"
        )
        assert max(seen) > 200 and max(seen[:28]) == 0, "the 28x28 image the model saw is shown"

    images, labels = test_digits
    upload = tmp_path / "upload.png"
    upload.write_bytes(png_bytes(images[1], 8, invert=True))
    page.click("#clear")
    page.set_input_files("#upload", str(upload))
    assert top_class(page) == str(labels[1])
    page.screenshot(path=SCREENSHOTS / "serve-uploaded.png")

    page.click("#clear")
    assert page.locator("#results .bar").count() == 0 and page.locator("#prediction-set").is_hidden()
    blank = page.evaluate(
        "Array.from(document.getElementById('pad').getContext('2d')"
        ".getImageData(0, 0, 280, 280).data).every(v => v == 255)"
    )
    assert blank, "clear leaves a white pad"

    text = tmp_path / "notes.png"
    text.write_bytes(b"not an image at all")
    page.set_input_files("#upload", str(text))
    expect(page.locator("#status")).to_contain_text("not a readable image")
    page.screenshot(path=SCREENSHOTS / "serve-error.png")
    assert errors == []
    page.close()


@pytest.mark.parametrize("command", ["serve", "review"])
def test_serve_without_fastapi_says_what_to_install(tmp_path, monkeypatch, capsys, command):
    monkeypatch.delitem(sys.modules, "mnistlab.serve.app", raising=False)
    monkeypatch.delitem(sys.modules, "mnistlab.serve.server", raising=False)
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed
    extra = (
        ["--findings", str(tmp_path / "f.csv"), "--decisions", str(tmp_path / "d")]
        if command == "review"
        else []
    )
    assert main([command, str(tmp_path), *extra]) == 1
    assert "pip install 'mnistlab[serve]'" in capsys.readouterr().err
