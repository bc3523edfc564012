"""Load on ``mnistlab serve``: concurrent keep-alive clients on 127.0.0.1 send prediction requests (PNG uploads
and JSON pixels), then the same with bad requests mixed in; requests/s, p50/p99 latency and errors.

The client is a few lines of asyncio speaking HTTP/1.1 over raw streams because it shares the 2 cores with the
server: httpx's AsyncClient spent 1.92 ms of CPU per request (317 requests/s with 8 clients), this client 0.10 ms
(908 requests/s against the same server, same run), so httpx would have measured itself.

    .venv/bin/python benchmarks/serve_load.py runs/cnn-mnist --clients 8 --requests 4000
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _request(
    path: str, body: bytes, content_type: str, close: bool = False, length: int | None = None
) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode() + body


def requests_of(images: np.ndarray) -> dict[str, list[tuple[bytes, int]]]:
    """Ready-made requests with the status each must get: uploads like a photo of a digit (dark ink on white,
    112x112 PNG), JSON pixels, and bad requests of every kind the server refuses."""
    good, bad = [], []
    for pixels in images:
        buffer = io.BytesIO()
        Image.fromarray(255 - pixels).resize((112, 112)).save(buffer, "PNG")
        good.append((_request("/predict", buffer.getvalue(), "image/png"), 200))
        body = json.dumps({"pixels": pixels.ravel().tolist()}).encode()
        good.append((_request("/predict", body, "application/json"), 200))
    bad = [
        (_request("/predict", b"not an image", "image/png"), 400),
        (_request("/predict", b"hello", "text/plain"), 415),
        (_request("/predict", b'{"pixels": [300]}', "application/json"), 422),
        (b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404),
        (_request("/predict", b"", "image/png", close=True, length=3_000_000), 413),  # refused on its header
    ]
    return {"good": good, "bad": bad}


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client(port: int, plan: list[tuple[bytes, int]], deadline: float, out: list) -> None:
    reader = writer = None
    for request, expected in plan:
        if time.perf_counter() > deadline:
            break
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        start = time.perf_counter()
        try:
            status = await _exchange(reader, writer, request)
        except (ConnectionError, asyncio.IncompleteReadError, IndexError, ValueError):
            status = -1
        out.append((time.perf_counter() - start, expected, status))
        if b"Connection: close" in request[:300] or status == -1:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def load(port: int, plan: list[tuple[bytes, int]], clients: int, max_seconds: float) -> dict:
    """Send ``plan`` over ``clients`` connections (round-robin split) and summarise."""
    out: list = []
    deadline = time.perf_counter() + max_seconds

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(_client(port, plan[i::clients], deadline, out) for i in range(clients)))
        return time.perf_counter() - start

    seconds = asyncio.run(main())
    latency = np.array([t for t, expected, _ in out if expected == 200]) * 1000
    wrong = sum(status != expected for _, expected, status in out)
    return {
        "clients": clients,
        "requests": len(out),
        "seconds": seconds,
        "requests_per_s": len(out) / seconds,
        "predictions": int(latency.size),
        "predictions_per_s": latency.size / seconds,
        "p50_ms": float(np.percentile(latency, 50)),
        "p99_ms": float(np.percentile(latency, 99)),
        "max_ms": float(latency.max()),
        "wrong_status": int(wrong),
        "bad_requests": sum(expected != 200 for _, expected, _ in out),
    }


def start_server(run: str | Path, extra: list[str] = ()) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from mnistlab.cli import entry; entry()",
            "serve",
            str(run),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if " at " not in line:
        process.kill()
        raise RuntimeError(f"the server did not start: {line}{process.stderr.read()}")
    return process, int(line.split(" at ")[1].split()[0].rsplit(":", 1)[1])


def bench_serve(
    run: str | Path,
    images: np.ndarray,
    clients: int = 8,
    n_requests: int = 4000,
    max_seconds: float = 60,
    extra: list[str] = (),
) -> dict:
    """Good requests alone, then one bad request in every five; the server must answer every one as expected."""
    reqs = requests_of(images)
    rng = np.random.default_rng(0)
    good = [reqs["good"][i] for i in rng.integers(0, len(reqs["good"]), n_requests)]
    mixed = [reqs["bad"][i % len(reqs["bad"])] if i % 5 == 4 else r for i, r in enumerate(good)]
    process, port = start_server(run, list(extra))
    try:
        load(port, good[:200], clients, max_seconds)  # warm-up: threads, ONNX Runtime's first runs
        return {
            "good_only": load(port, good, clients, max_seconds),
            "one_in_five_bad": load(port, mixed, clients, max_seconds),
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args()
    from mnistlab import datasets

    images = datasets.load("mnist", "test").images[:500]
    extra = ["--no-onnx"] if args.no_onnx else []
    print(json.dumps(bench_serve(args.run, images, args.clients, args.requests, extra=extra), indent=2))


if __name__ == "__main__":
    main()
