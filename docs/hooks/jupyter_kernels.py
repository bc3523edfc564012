"""mkdocs hook: the tutorials' kernels talk to the build over local sockets (IPC), not TCP.

mkdocs-jupyter executes each tutorial in an IPython kernel started by nbconvert. Over TCP, without CurveZMQ keys,
ipykernel warns on every start that the kernel "is running over TCP without encryption"; a reader of the build
cannot act on it, and a warning nobody acts on hides the ones that matter. Over IPC (Unix domain sockets in
Jupyter's runtime folder, readable by this user only) nothing crosses the network and ipykernel has nothing to
warn about. mkdocs-jupyter reads the user's nbconvert configuration, so this hook puts
``jupyter/jupyter_nbconvert_config.json`` (``KernelManager.transport = "ipc"``) on ``JUPYTER_CONFIG_PATH`` before
the first tutorial is converted; any configuration already on the path is kept, after it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).parent / "jupyter"


def with_ipc_config(path: str | None) -> str:
    """``JUPYTER_CONFIG_PATH`` with this folder's configuration first (once).

    >>> with_ipc_config(None) == str(CONFIG_DIR)
    True
    >>> with_ipc_config(f"{CONFIG_DIR}{os.pathsep}/etc/x").count(str(CONFIG_DIR))
    1
    """
    parts = [p for p in (path or "").split(os.pathsep) if p and p != str(CONFIG_DIR)]
    return os.pathsep.join([str(CONFIG_DIR), *parts])


def on_startup(**_: Any) -> None:
    os.environ["JUPYTER_CONFIG_PATH"] = with_ipc_config(os.environ.get("JUPYTER_CONFIG_PATH"))
