"""This machine's signature on files it wrote and will later run: scikit-learn tree models and ONNX graphs.

A sha256 of a file proves nothing (anyone can compute it for a forged file); an HMAC with a secret that never
leaves this machine proves that this machine wrote the file. The key is made once under ``$MNISTLAB_HOME/keys``,
readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path


def signing_key() -> bytes:
    """This machine's secret (created once, readable by its owner only; two processes never make two keys)."""
    from mnistlab.datasets import data_home

    key_file = data_home() / "keys" / "runs.key"
    if not key_file.is_file():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = key_file.with_name(f".runs.key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
        try:
            os.link(tmp, key_file)  # never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return key_file.read_bytes()


def signature(file: Path) -> str:
    """The HMAC-SHA256 of ``file``'s bytes with this machine's key."""
    return hmac.new(signing_key(), Path(file).read_bytes(), hashlib.sha256).hexdigest()


def signed_here(file: Path, saved: object) -> bool:
    """Whether ``saved`` is this machine's signature of ``file`` as it is now."""
    return isinstance(saved, str) and hmac.compare_digest(saved, signature(file))
