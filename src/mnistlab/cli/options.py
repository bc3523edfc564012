"""Options several commands share: where data and test data come from, class names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DATA_HELP = (
    "Registered data set, or a file or folder: a Kaggle-layout CSV, an image folder (class sub-folders or a "
    "labels.csv manifest), an IDX images file, an npz."
)
TestOpt = Annotated[str | None, typer.Option("--test", help="Test data: a file or folder like --data.")]
TestFractionOpt = Annotated[
    float | None, typer.Option(help="Hold out this fraction of --data as test data (stratified, seeded).")
]
RunArg = Annotated[Path, typer.Argument(help="Run folder.")]
TrustOpt = Annotated[bool, typer.Option("--trust", help="Load a tree model saved on another machine.")]
JobsOpt = Annotated[int, typer.Option(help="Tasks at once on this machine (joblib's loky processes).")]
ClusterOpt = Annotated[
    str | None, typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786 (needs mnistlab[cluster]).")
]
ClassesOpt = Annotated[
    str | None, typer.Option(help='Class names in label order, e.g. "T-shirt/top,Trouser,...".')
]


def parse_classes(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None.

    >>> parse_classes("T-shirt/top, Trouser")
    ['T-shirt/top', 'Trouser']
    """
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or not all(names):
        from mnistlab.errors import ParameterError

        raise ParameterError(f"--classes {text!r}: expected two or more comma-separated names")
    return names
