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
