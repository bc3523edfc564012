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
