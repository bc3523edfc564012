"""Helpers of the hostile-input tests."""

import subprocess
import sys

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
