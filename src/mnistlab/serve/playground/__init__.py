"""The playground: a static page where models trained by mnistlab answer a drawing in the reader's browser, with
ONNX Runtime Web and no server (``mnistlab playground``; the docs site has one, built by ``make docs``).

The page is files only: the models exported to ONNX (:func:`mnistlab.serve.onnx.export_onnx`) and some test images,
written as scripts that set a variable (base64), and ONNX Runtime Web taken from its npm package at build time
(checked against the checksums below), its WebAssembly glue and binary written the same way. Scripts that set
variables are what a page opened from a file (``file://``) may load: browsers refuse ``fetch`` and module imports
there, so the page hands ONNX Runtime its glue as a ``blob:`` URL and its binary from memory. The page makes no
request off its own folder (its Content-Security-Policy says so, and the browser test checks it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from mnistlab import runs
from mnistlab.datasets import fetch_npm_package
from mnistlab.errors import MnistlabError
from mnistlab.fileio import atomic_write

ORT_PACKAGE, ORT_VERSION = "onnxruntime-web", "1.31.1"
# the files of the package the page uses and their sha256 (any other content is refused)
ORT_FILES = {
    "dist/ort.wasm.min.js": "b8a78c408c40da65fdc8ba0846f7b2948e92a4c6d6b23cc8e4165e428ad95443",
    "dist/ort-wasm-simd-threaded.mjs": "30ed0b5cd1182ede931fea448afb567d4dc705ec957af09f108a2be5f770dac3",
    "dist/ort-wasm-simd-threaded.wasm": "4b884c203b0fa48d057be3332c65513ff85aa3c5bddd6946acc0fab7ecda001d",
}
PAGE_FILES = ("playground.html", "playground.js", "preprocess.js", "playground.css")
TITLES = {"softmax": "softmax regression", "mlp": "MLP", "cnn-fast": "CNN (cnn-fast)", "cnn": "CNN (cnn)"}


@dataclass(frozen=True)
class PlaygroundModel:
    """One model of the page: its id, title, data set, class names, ONNX graph and run folder."""

    id: str
    title: str
    dataset: str
    classes: list[str]
    onnx: bytes
    run: Path

    @classmethod
    def from_run(cls, name: str, path: str | Path) -> PlaygroundModel:
        """The run at ``path`` exported to ONNX (a PyTorch run of 28x28 images), under ``name``."""
        from mnistlab.serve.onnx import export_onnx

        run = runs.load_run(path)
        graph = export_onnx(path).read_bytes()
        model = str(run.config.get("model", name))
        dataset = str(run.config.get("data", "data"))
        classes = [str(c) for c in run.config.get("classes") or run.estimator.classes_]
        return cls(name, TITLES.get(model, model), dataset, classes, graph, Path(path))


def check_playground_requirements() -> None:
    """Refuse, before any work, when the ONNX exporter's package is missing (the ``onnx`` extra).

    Examples
    --------
    >>> check_playground_requirements()  # with mnistlab[onnx] installed: nothing to say
    """
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise MnistlabError("the playground exports its models to ONNX: pip install 'mnistlab[onnx]'")


def build_playground(out: str | Path, models: Mapping[str, str | Path], samples: int = 12) -> Path:
    """Write the playground page into ``out``: the runs ``models`` (``{name: run folder}``, PyTorch runs) in ONNX,
    ``samples`` test images of each of their data sets, ONNX Runtime Web and the page. Open ``out/index.html``.

    Parameters
    ----------
    out : str or Path
        The folder to write (made; files of an earlier build replaced).
    models : mapping of str to str or Path
        Run folders by the name the page shows; the order is the page's.
    samples : int
        Test images per data set to pick from.

    Returns
    -------
    Path
        ``out/index.html``.

    Examples
    --------
    >>> build_playground("site/playground", {"mnist-cnn-fast": "runs/cnn-fast"})  # doctest: +SKIP
    PosixPath('site/playground/index.html')
    """
    if not models:
        raise MnistlabError("the playground needs at least one run")
    check_playground_requirements()
    out = Path(out)
    # everything that reads the runs and their data first: a run or data set that fails leaves no half-built page
    chosen = [PlaygroundModel.from_run(name, path) for name, path in models.items()]
    picked = _samples(chosen, samples)
    (out / "vendor").mkdir(parents=True, exist_ok=True)
    _write_script(out / "models.js", "PLAYGROUND_MODELS", [_model_entry(m) for m in chosen])
    _write_script(out / "samples.js", "PLAYGROUND_SAMPLES", picked)
    _vendor_onnx_runtime(out / "vendor")
    page = resources.files(__name__)
    for name in PAGE_FILES:
        target = out / ("index.html" if name == "playground.html" else name)
        with atomic_write(target) as tmp:
            tmp.write_bytes(page.joinpath(name).read_bytes())
    return out / "index.html"


def _model_entry(model: PlaygroundModel) -> dict:
    return {
        "id": model.id,
        "title": model.title,
        "dataset": model.dataset,
        "classes": model.classes,
        "onnx": base64.b64encode(model.onnx).decode(),
    }


def _samples(models: list[PlaygroundModel], per_set: int) -> dict:
    """``per_set`` test images of each data set, one class after another (base64 of their 784 bytes): the test
    data the first run of that data set recorded, read again as it was read then (a folder of 56x56 PNGs made
    28x28 by the run's rule; a held-out share taken by the recorded seed), so the images are the model's own."""
    first_run = {}
    for model in models:
        first_run.setdefault(model.dataset, model.run)
    chosen = {}
    for name in sorted(first_run):
        test = runs.test_data(runs.load_run(first_run[name]))
        picks = []
        for offset in range(per_set):
            label = offset % len(test.classes)
            rows = np.flatnonzero(test.labels == label)
            if len(rows) > offset // len(test.classes):
                picks.append(int(rows[offset // len(test.classes)]))
        chosen[name] = [
            {
                "label": int(test.labels[i]),
                "pixels": base64.b64encode(np.ascontiguousarray(test.images[i]).tobytes()).decode(),
            }
            for i in picks
        ]
    return chosen


def _write_script(path: Path, variable: str, value) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(f"var {variable} = {json.dumps(value)};\n")


def _vendor_onnx_runtime(folder: Path) -> None:
    """ONNX Runtime Web's script, its glue (as text) and its WebAssembly binary (base64) as scripts in
    ``folder``, from the npm package (downloaded once into the data cache, every file checked)."""
    package = _onnx_runtime_package()
    with atomic_write(folder / "ort.wasm.min.js") as tmp:
        tmp.write_bytes((package / "dist/ort.wasm.min.js").read_bytes())
    glue = (package / "dist/ort-wasm-simd-threaded.mjs").read_text()
    _write_script(folder / "ort-glue.js", "ORT_GLUE", glue)
    binary = base64.b64encode((package / "dist/ort-wasm-simd-threaded.wasm").read_bytes()).decode()
    with atomic_write(folder / "ort-wasm.js") as tmp:
        tmp.write_text(f'var ORT_WASM = "{binary}";\n')
    with atomic_write(folder / "NOTICE.txt") as tmp:
        tmp.write_text(
            f"ONNX Runtime Web {ORT_VERSION} (https://github.com/microsoft/onnxruntime), MIT licence, "
            f"Copyright (c) Microsoft Corporation; from the npm package {ORT_PACKAGE}@{ORT_VERSION}.\n"
        )


def _onnx_runtime_package() -> Path:
    """The unpacked npm package in the data cache, downloaded and checked when missing."""
    return fetch_npm_package(ORT_PACKAGE, ORT_VERSION, ORT_FILES)
