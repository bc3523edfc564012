"""Atomic file writes: a reader (or a crash) never sees a half-written cache stamp, config or metrics file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def write_json(path: Path, data) -> None:
    """Write ``data`` as indented JSON through a temporary file and a rename; numpy values become plain ones."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    os.replace(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
