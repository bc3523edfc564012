"""Helpers of the hostile-input tests: a process's peak memory, a full disk, the web app under a real uvicorn
server and whether it closed a socket (test_server*.py), one field of a JSON document replaced (the tampered run
files of test_run_files.py and test_tampered_runs.py)."""

import contextlib
import copy
import select
import socket
import subprocess
import sys
import threading
import time

import pytest

_PEAK = "print(next(int(l.split()[1]) // 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')))"


@pytest.fixture(scope="session")
def run_measured():
    """``run_measured(code) -> (stdout lines, peak MiB)``: run Python code in a fresh interpreter and report its
    peak resident memory (VmHWM, which starts afresh at exec, unlike ru_maxrss)."""

    def run(code: str) -> tuple[list[str], int]:
        out = subprocess.run(
            [sys.executable, "-c", code + "\n" + _PEAK],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        lines = out.stdout.strip().splitlines()
        return lines[:-1], int(lines[-1])

    return run


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full(module, name)``: the writer ``module.name`` starts its file (a few bytes reach the target it
    was given, a path or an open file) and then fails with ENOSPC, as on a full disk: the fault-injection
    helper the "nothing is lost" tests share."""
    import errno
    import os
    from pathlib import Path

    def install(module, name: str) -> None:
        def failing(*args, **kwargs):
            targets = [
                a
                for a in (*args, *kwargs.values())
                if isinstance(a, str | os.PathLike) or hasattr(a, "write")
            ]
            target = targets[0] if targets else None
            if hasattr(target, "write"):
                target.write(b"PARTIAL")
            elif target is not None:
                Path(target).write_bytes(b"PARTIAL")
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(module, name, failing)

    return install


@contextlib.contextmanager
def live(app, header_timeout: float = 10.0, max_connections: int = 500):
    """``app`` under uvicorn with the guarded protocol (:func:`mnistlab.serve.server.guarded_protocol`), in a
    thread of this process; yields (host, port)."""
    import uvicorn

    from mnistlab.serve.server import guarded_protocol

    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=guarded_protocol(header_timeout, max_connections), log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a guard against a hang only: the socket already queues connections
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(10)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (readable, and reading gives nothing or a reset); never waits and
    never consumes what the server sent."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def replace_field(document, field: tuple, value):
    """A copy of the JSON ``document`` with the value at ``field`` (keys and indices, outermost first; ``()``:
    the whole document) replaced by ``value``."""
    if not field:
        return value
    changed = copy.deepcopy(document)
    node = changed
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    return changed
