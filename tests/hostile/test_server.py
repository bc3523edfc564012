"""The web server under hostile requests: no request holds the event loop, idle and slow connections are closed,
connections are capped, responses carry security headers, only PNG and JPEG are decoded, memory per request is
bounded. The app is the real one with a stub predictor (``stub_app``, tests/conftest.py): no model is trained."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from mnistlab.serve.dependencies import Settings  # noqa: E402
from mnistlab.serve.routers import prediction  # noqa: E402
from tests.hostile.conftest import closed_by_server, live  # noqa: E402


def png(pixels: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def seven() -> bytes:
    canvas = np.full((60, 60), 255, np.uint8)
    canvas[10:14, 10:50] = 0
    canvas[14:50, 40:44] = 0
    return png(canvas)


def empty_parts_body(parts: int = 30_000) -> tuple[bytes, str]:
    body = b"".join(b"--b\r\n\r\n\r\n" for _ in range(parts)) + b"--b--\r\n"
    return body, "multipart/form-data; boundary=b"


def test_health_answers_while_a_hostile_body_is_parsed(stub_app, monkeypatch):
    """30,000 empty multipart parts (1.4 MB) stalled /health for 8 s when parsed on the event loop. Here the parse
    of such a body is held open until /health has answered: on the event loop, /health could never answer. The
    order is asserted, not a duration (the latency is benchmarks/responsiveness.py's)."""
    body, content_type = empty_parts_body()
    assert len(body) < 2_000_000
    parsing, health_answered = threading.Event(), threading.Event()
    read_body = prediction.input_of

    def held_open(*args):
        parsing.set()
        health_answered.wait(60)  # a guard against a hang only: released as soon as /health answered
        return read_body(*args)

    monkeypatch.setattr(prediction, "input_of", held_open)
    with live(stub_app()) as (host, port), ThreadPoolExecutor(1) as pool:
        base = f"http://{host}:{port}"
        attack = pool.submit(
            httpx.post, f"{base}/predict", content=body, headers={"content-type": content_type}, timeout=120
        )
        assert parsing.wait(60), "the hostile body never reached the parser"
        try:
            health = httpx.get(f"{base}/health", timeout=30)  # timeout: a guard against a hang only
        finally:
            health_answered.set()
        assert health.status_code == 200 and not attack.done(), "answered while the body was being parsed"
        assert attack.result().status_code == 400


def wait_for_closes(socks: list[socket.socket], count: int) -> list[socket.socket]:
    """The sockets the server has closed, once ``count`` of them are (polling; 60 s is a hang guard only)."""
    for _ in range(1200):
        closed = [sock for sock in socks if closed_by_server(sock)]
        if len(closed) >= count:
            return closed
        time.sleep(0.05)
    return closed


def test_connections_that_send_nothing_or_crawl_are_closed(stub_app):
    """The header deadline counts from the request's start, not from its last byte: a client that sends a header
    byte every 0.1 s is closed all the same (under an idle deadline it would be kept for ever)."""
    with live(stub_app(), header_timeout=0.5) as (host, port):
        silent = socket.create_connection((host, port))
        crawling = socket.create_connection((host, port))
        crawling.sendall(b"GET /health HTTP/1.1\r\n")
        for _ in range(600):  # a header byte every 0.1 s until the server closes it (a minute: a hang guard)
            if closed_by_server(crawling):
                break
            with contextlib.suppress(OSError):
                crawling.sendall(b"X")
            time.sleep(0.1)
        else:
            pytest.fail("a client sending a header byte every 0.1 s was kept open")
        assert wait_for_closes([silent], 1) == [silent], "a connection that sends nothing should be closed"
        for sock in (silent, crawling):
            sock.close()
        assert httpx.get(f"http://{host}:{port}/health").status_code == 200


def test_connections_beyond_the_cap_are_closed_at_once_and_service_resumes(stub_app):
    """20 of 40 idle connections are over the cap of 20: 20 are closed at once (each newcomer sheds the longest
    idle one, test_server_share.py), the others stay open (their header deadline is a minute away), and once the
    client lets them go the server answers again."""
    with live(stub_app(), header_timeout=60.0, max_connections=20) as (host, port):
        idle = [socket.create_connection((host, port)) for _ in range(40)]
        closed = wait_for_closes(idle, 20)
        assert len(closed) == 20, f"{len(closed)} of the 20 connections over the cap were closed"
        for sock in idle:
            sock.close()
        for _ in range(1200):  # until the server has seen the closes (60 s: a guard against a hang only)
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{host}:{port}/health", timeout=5).status_code == 200:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the server did not answer again after the idle connections were closed")


def test_a_body_that_never_finishes_gets_408(stub_app):
    with (
        live(stub_app(Settings(body_timeout_s=0.5))) as (host, port),
        socket.create_connection((host, port)) as sock,
    ):
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 1000\r\n\r\n0123456789"
        )
        sock.settimeout(60)  # a guard against a hang only: the 408 comes after body_timeout_s
        reply = b""
        while b"}" not in reply and (chunk := sock.recv(1024)):  # the headers, then the JSON body
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in reply, reply


@pytest.fixture(scope="module")
def client(stub_app):
    return TestClient(stub_app(), base_url="http://localhost")


def test_every_response_carries_the_security_headers(client):
    answers = [
        client.get("/"),
        client.get("/health"),
        client.get("/nowhere"),
        client.post("/predict", content=b"x", headers={"content-type": "text/plain"}),
    ]
    for answer in answers:
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_a_foreign_host_name_is_refused(stub_app, client):
    assert client.get("/health", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/health", headers={"host": "127.0.0.1:8000"}).status_code == 200
    opened = TestClient(stub_app(allowed_hosts=["mnist.lan"]), base_url="http://mnist.lan")
    assert opened.get("/health").status_code == 200
    assert opened.get("/health", headers={"host": "localhost"}).status_code == 400


def test_head_answers_and_docs_need_no_network(client):
    for path in ("/", "/health", "/model", "/docs", "/static/app.js"):
        assert client.head(path).status_code == 200, path
    docs = client.get("/docs").text
    assert "POST /predict" in docs and "/openapi.json" in docs
    assert "<script" not in docs and "https://" not in docs and "http://" not in docs


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "TIFF", "ICO", "WEBP"])
def test_uploads_other_than_png_and_jpeg_are_not_decoded(client, fmt):
    buffer = io.BytesIO()
    canvas = np.full((32, 32), 255, np.uint8)
    canvas[8:24, 14:18] = 0
    Image.fromarray(canvas).save(buffer, fmt)
    answer = client.post("/predict", content=buffer.getvalue(), headers={"content-type": "image/png"})
    assert answer.status_code == 400 and "expected PNG, JPEG" in answer.json()["detail"]
    assert client.post("/predict", content=seven(), headers={"content-type": "image/png"}).status_code == 200


def test_error_answers_stay_small(client):
    answer = client.post("/predict", json={"pixels": [999] * 784})
    assert answer.status_code == 422 and len(answer.content) < 2000
    many = b"".join(b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n" for _ in range(100))
    answer = client.post(
        "/predict", content=many + b"--b--\r\n", headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code == 400 and "more than 8 parts" in answer.json()["detail"]
    nested = (
        b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n" + b"--c\r\n" * 3000 + b"\r\n--b--\r\n"
    )
    answer = client.post(
        "/predict", content=nested, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code == 400


def test_a_16_bit_4000x4000_png_costs_bounded_memory(run_measured, tmp_path):
    """A 33 KB 16-bit PNG of 4000x4000 cost 278 MB per request (int64 copies of every pixel)."""
    path = tmp_path / "wide.png"
    canvas = np.full((4000, 4000), 65535, np.uint16)
    canvas[1000:3000, 1900:2100] = 0
    Image.fromarray(canvas).save(path)
    assert path.stat().st_size < 200_000
    code = (
        "import numpy as np\n"
        "from mnistlab.datasets.preprocess import load_for_prediction\n"
        "from mnistlab.serve.routers.prediction import MAX_UPLOAD_PIXELS\n"
        "import resource\n"
        f"data = open({str(path)!r}, 'rb').read()\n"
        "before = next(int(l.split()[1]) // 1024 for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
        "print(before)\n"
        "print(int(load_for_prediction(data, MAX_UPLOAD_PIXELS).any()))\n"
    )
    (before, found), peak = run_measured(code)
    assert found == "1"
    assert peak - int(before) < 120, f"decoding took {peak - int(before)} MB over the {before} MB at start"
