"""Shared fixtures: an isolated data home, small synthetic data, and a local HTTP server for download tests."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from mnistlab.datasets import Dataset


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

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.hits[self.path] += 1
            route = server_state.routes.get(self.path, Route(status=404))
            time.sleep(route.delay_s)
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
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


@pytest.fixture(scope="session")
def fast() -> dict:
    """Training settings that keep a PyTorch test to a second or two."""
    return dict(epochs=2, batch_size=32, threads=1)
