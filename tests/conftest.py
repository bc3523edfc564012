"""Shared fixtures: an isolated data home, small synthetic data, a local HTTP server for download tests, and the
two things a test may need from outside: the real data sets and a browser; and the web app with a stub predictor
(``stub_app``), for tests of its HTTP plumbing that need no trained model.

What a test needs is what it asks for, and the marks follow from that (applied here, at collection):

- ``real_data`` (a fixture) or ``pytestmark = pytest.mark.realdata``: reads a real data set, fetched once per
  machine and cached. A test without the mark that reads one fails (the guard below), so the mark cannot drift.
- ``browser`` (a fixture): drives Debian's Chromium through Playwright; marked ``browser``.
- ``slow``: takes more than a few seconds (marked where it stands).

``pytest -m "not realdata and not browser and not slow"`` (``make test-fast``) is the quick run.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from mnistlab.datasets import Dataset

BUILT_IN = {"mnist", "fashion-mnist-kaggle", "fashion-mnist"}
_REAL_HOME = os.environ.get("MNISTLAB_HOME")


def _share_the_cores() -> None:
    """Each pytest-xdist worker (``make test`` runs two) trains with its share of the cores, and so do the
    commands its tests start (they inherit ``OMP_NUM_THREADS``): two workers of two threads each on two cores
    make PyTorch's threads wait on each other, several times slower. A fit never takes more threads than its
    process may use (``models.precision.execution_plan``)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        import torch

        share = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(share)
        torch.set_num_threads(share)


_share_the_cores()


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if "real_data" in needs:
            item.add_marker(pytest.mark.realdata)
        if "browser" in needs:
            item.add_marker(pytest.mark.browser)
    # Files with long tests (real data, a browser, slow) first: with tests spread over workers file by file
    # (make test), the long files start early and the workers finish together. Stable: same order everywhere.
    long_files = {item.path for item in items if any(item.get_closest_marker(m) for m in LONG)}
    items.sort(key=lambda item: item.path not in long_files)


LONG = ("realdata", "browser", "slow")


_RUNNING: dict = {"item": None}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _RUNNING["item"] = item  # before any fixture of the test is set up, module-scoped ones included


def pytest_configure(config) -> None:
    """The guard of the ``realdata`` mark: a test without it that reads a built-in data set from the machine's
    cache fails, naming the fixture to ask for. It is in place before any fixture runs (module-scoped ones
    included); tests with their own data home (``tmp_home``) are free to fake a built-in data set."""
    from mnistlab.datasets import registered

    fetch = registered.ensure_files

    def guarded(info, home=None):
        item = _RUNNING["item"]
        unmarked = item is not None and item.get_closest_marker("realdata") is None
        if (
            unmarked
            and info.name in BUILT_IN
            and home is None
            and os.environ.get("MNISTLAB_HOME") == _REAL_HOME
        ):
            raise AssertionError(
                f"{item.nodeid} reads the real data set {info.name!r}: ask for the real_data fixture (or mark it "
                "realdata), so that a quick run can leave it out"
            )
        return fetch(info, home)

    registered.ensure_files = guarded


@pytest.fixture(scope="session")
def real_data():
    """``real_data(name, split)``: a split of a real data set (fetched once per machine, then cached), loaded once
    per test session. Asking for this fixture marks the test ``realdata``."""
    from mnistlab import datasets

    loaded: dict[tuple[str, str], Dataset] = {}

    def load(name: str, split: str = "train") -> Dataset:
        if (name, split) not in loaded:
            loaded[(name, split)] = datasets.load(name, split)
        return loaded[(name, split)]

    return load


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Debian's, which ``make test`` installs) driven by Playwright. Asking for this fixture
    marks the test ``browser``; without Chromium the test is skipped before it starts."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (make test installs it with apt)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def tmp_home(tmp_path, monkeypatch):
    """An empty MNISTLAB_HOME, so a test never touches the machine's real cache."""
    home = tmp_path / "home"
    monkeypatch.setenv("MNISTLAB_HOME", str(home))
    monkeypatch.delenv("MNISTLAB_OFFLINE", raising=False)
    return home


@pytest.fixture
def small_dataset() -> Dataset:
    """30 random images of 3 classes, 10 each."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    return Dataset(images, np.arange(30) % 3, ["alpha", "beta", "gamma"], "toy", "train")


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    delay_s: float = 0.0  # before the headers are sent
    truncate_to: int | None = None  # send only this many bytes but announce the full length


@dataclass
class LocalServer:
    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)

    def serve(self, path: str, body: bytes = b"", **route) -> None:
        """Answer ``GET path`` with ``body`` (``status``, ``delay_s``, ``truncate_to`` as in :class:`Route`)."""
        self.routes[path] = Route(body=body, **route)


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1 serving the routes a test defines; every request is counted."""
    server_state = LocalServer("")
    closing = threading.Event()  # set at teardown: a delayed answer still pending is sent at once

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits[self.path] += 1
            route = server_state.routes.get(self.path, Route(status=404))
            closing.wait(route.delay_s)
            self.send_response(route.status)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.status == 200:
                payload = route.body if route.truncate_to is None else route.body[: route.truncate_to]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server_state
    closing.set()
    server.shutdown()
    server.server_close()


def make_blobs(n: int = 240, n_classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class decides which vertical band of the image is bright: easy, but only if pixels are used."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for k in range(n_classes):
        X[y == k, :, 9 * k : 9 * k + 9] += 150
    return X, y


@pytest.fixture(scope="session")
def blobs():
    """``blobs(n, n_classes, seed) -> (X, y)``: a small, easy image task (see :func:`make_blobs`)."""
    return make_blobs


def make_smooth_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blurry blobs at random places (smooth like handwriting, so a one-pixel shift stays close); the class is
    which third of the width the blob sits in."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    cy, cx = rng.uniform(6, 22, (2, n, 1, 1))
    width = rng.uniform(2.5, 5, (n, 1, 1))
    images = (255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))).astype(np.uint8)
    return images, np.digitize(cx.ravel(), [11.3, 16.6])


@pytest.fixture(scope="session")
def smooth_images():
    """``smooth_images(n, seed) -> (images, labels)``: smooth blobs in three classes (:func:`make_smooth_images`)."""
    return make_smooth_images


@pytest.fixture(scope="session")
def fast() -> dict:
    """Training settings that keep a PyTorch test to a second or two."""
    return dict(epochs=2, batch_size=32, threads=1)


@contextlib.contextmanager
def _command_server(*args: str) -> Iterator[str]:
    """``mnistlab ARGS --port 0`` (serve, review) in its own process on a free loopback port; yields the base URL
    its first line prints, and stops it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from mnistlab.cli import entry; entry()", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    url = re.search(r"(http://[^\s;]+)", line)
    if url is None:
        process.kill()
        pytest.fail(f"mnistlab {args[0]} did not start: {line}{process.stderr.read()}")
    try:
        yield url.group(1)
    finally:
        process.terminate()
        process.wait(timeout=60)  # a guard against a hang only (a loaded machine stops a server slowly)


@pytest.fixture(scope="session")
def command_server():
    """``command_server("serve", RUN)``: a context manager running that command as a server (yields its URL)."""
    return _command_server


STUB_CLASSES = ["left", "middle", "right"]
STUB_INFO = {"model": "stub", "run": "stub", "data": "bands", "classes": STUB_CLASSES, "engine": "stub"}


class StubPredictor:
    """What the prediction routes use of a :class:`mnistlab.serve.predict.Predictor`, with no model behind it:
    uploads are read by the real rule (``auto``, for a model trained on light ink on black: decoding, the size
    and no-ink checks are the app's own), and every image gets the same answer: ``middle`` first, a prediction
    set of it, a blank explanation."""

    class_names = STUB_CLASSES
    polarity = "light-on-dark"

    def read(self, source, name=None, max_pixels=None):
        from mnistlab.datasets import LIGHT_ON_DARK, read_for_model

        return read_for_model(source, "auto", LIGHT_ON_DARK, "none", max_pixels, name)

    def mismatch(self, images, name):
        return None

    def predict(self, images, k=3, alpha=None, method="split-nonempty"):
        ranked = [("middle", 0.7), ("left", 0.2), ("right", 0.1)][:k]
        return [ranked] * len(images), "probability", None if alpha is None else [["middle"]] * len(images)

    def explain(self, image):
        return np.zeros((28, 28))


def _stub_app(settings=None, allowed_hosts=None, predictor=None):
    from mnistlab.serve import get_model_info, get_predictor, predictor_app

    app = predictor_app(settings, allowed_hosts)
    stub = predictor or StubPredictor()
    app.dependency_overrides[get_predictor] = lambda: stub
    app.dependency_overrides[get_model_info] = lambda: STUB_INFO
    return app


@pytest.fixture(scope="session")
def stub_app():
    """``stub_app(settings=None, allowed_hosts=None, predictor=None) -> FastAPI``: the prediction app's routes,
    hardening and limits (:func:`mnistlab.serve.app.predictor_app`) with a :class:`StubPredictor` (or
    ``predictor``) handed to the routes through ``app.dependency_overrides``: the web app's plumbing without
    training a model. Tests of what a real model answers use ``create_app`` on a trained run."""
    pytest.importorskip("fastapi")
    return _stub_app
