"""Saving and loading a run's model, without pickles: safetensors weights for PyTorch networks, skops files for
scikit-learn models (loaded with an explicit list of trusted types, tree models only when signed here or trusted).
Files are written atomically.
"""

from __future__ import annotations

import os
import platform
import secrets
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator

from mnistlab import __version__
from mnistlab.errors import DataFormatError, RunError
from mnistlab.fileio import json_text
from mnistlab.models import IMAGE_FEATURES, TorchClassifier, build_network, rename_format1_weights
from mnistlab.runs.folder import (
    CONFIG,
    DERIVED,
    FORMAT_VERSION,
    HISTORY,
    METRICS,
    SKOPS,
    STEPS,
    WEIGHTS,
    Run,
    read_config,
    read_history,
    read_metrics,
    read_steps,
)
from mnistlab.runs.signing import signature, signed_here

# Loading model.skops without trust: every object its schema names must be one of the types mnistlab's own
# registered models contain (all of them, scikit-learn's and numpy's included: skops by default trusts any
# scikit-learn estimator and numpy function, so a FunctionTransformer(numpy.negative) slipped into the pipeline would
# load and predict wrongly), built by one of the loaders those models use (never a function, a method or a
# reduce call). tests/hostile/test_run_folders.py checks both lists against every fitted registry model. Anything
# else loads only with trust=True (``--trust``), and never a type that neither mnistlab nor skops trusts.
ALLOWED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "mnistlab.models.classic.FlattenPixels",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "numpy.random._generator.Generator",
        "numpy.random.mtrand.RandomState",
        "numpy.uint64",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn.dummy.DummyClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.linear_model._perceptron.Perceptron",
        "sklearn.linear_model._sgd_fast.Hinge",
        "sklearn.linear_model._sgd_fast.ModifiedHuber",
        "sklearn.linear_model._sgd_fast.SquaredHinge",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.naive_bayes.GaussianNB",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.MinMaxScaler",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.svm._classes.LinearSVC",
        "sklearn.svm._classes.SVC",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeClassifier",
        "sklearn.tree._tree.Tree",
    }
)
ALLOWED_LOADERS = frozenset(
    {
        "DictNode",
        "JsonNode",
        "ListNode",
        "LossNode",
        "NdArrayNode",
        "ObjectNode",
        "RandomGeneratorNode",
        "RandomStateNode",
        "TreeNode",
        "TupleNode",
        "TypeNode",
    }
)
# Kept for callers of the old name: the types of ALLOWED_TYPES that skops itself does not trust.
TRUSTED_TYPES = frozenset(
    {
        "mnistlab.models.classic.FlattenPixels",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    }
)
# Tree arrays are indexed without bounds checks in compiled code, so tampered ones can crash the process (skops
# leaves these types untrusted on purpose); so are the node arrays of the neighbour trees kNN builds on data of
# few features. They load from a run this machine signed, or with trust=True.
TREE_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
    }
)


def versions() -> dict[str, str]:
    return {
        "mnistlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def _machine(estimator) -> dict:
    """What the run ran on: the CPU, its flags that decide bf16's speed, cores, threads, and for a network the
    precision and memory layout training actually used."""
    from mnistlab.models import cpu_facts

    facts = cpu_facts()
    machine = {
        "cpu": facts["cpu"] if facts["cpu"] != "unknown" else platform.processor() or platform.machine(),
        "cpu_flags": facts["flags"],
        "cores": os.cpu_count(),
        "threads": getattr(estimator, "threads_", None) or torch.get_num_threads(),
        "bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    }
    if isinstance(estimator, TorchClassifier):
        machine["precision"] = getattr(estimator, "precision_", None)
        machine["channels_last"] = getattr(estimator, "channels_last_", None)
    return machine


def interruption(estimator) -> dict:
    """``{"interrupted": True, "epochs_completed": N}`` for a training stopped by Ctrl-C or SIGTERM, else ``{}``:
    what metrics.json, the command line and the report say of it."""
    if not getattr(estimator, "interrupted_", False):
        return {}
    return {"interrupted": True, "epochs_completed": len(getattr(estimator, "history_", []))}


def save(
    path: str | Path,
    estimator: BaseEstimator,
    *,
    model: str,
    data: str,
    classes: list[str],
    seed: int | None = None,
    metrics: dict | None = None,
    data_source: dict | None = None,
    ink: dict | None = None,
) -> Path:
    """Write a fitted estimator and its metadata into the run folder ``path``.

    ``ink`` is the training images' ink profile (``datasets.ink_profile(train.images).to_dict()``): predict,
    the web app and evaluation on other data hand the model images in that polarity, or warn.

    Every file is written under a temporary name and renamed into place, ``config.json`` last; a run that was
    there is replaced only then, with its files of the other kind (weights of a PyTorch run replaced by a
    scikit-learn one, say) and its ONNX export removed. A full or read-only disk is a :class:`RunError` and the
    folder keeps what it held. A training stopped by Ctrl-C or SIGTERM is recorded as ``interrupted`` in
    ``metrics.json``."""
    path = Path(path)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{path}: cannot create the run folder ({exc.strerror or exc})") from None
    config = {
        "format": FORMAT_VERSION,
        "data": data,
        "model": model,
        "seed": seed,
        "classes": list(classes),
        "classes_": np.asarray(estimator.classes_).tolist(),
        "n_features_in": int(getattr(estimator, "n_features_in_", IMAGE_FEATURES)),
        "data_source": data_source,  # where train and test data came from, with their content's sha256
        "ink": ink,  # the training images' polarity and ink statistics (None: not measured, not compared)
        "saved": time.strftime("%Y-%m-%d %H:%M"),
        "machine": _machine(estimator),
        "versions": versions(),
    }
    metrics = {**(metrics or {}), **interruption(estimator)}
    staged: list[tuple[Path, Path]] = []

    def stage(name: str) -> Path:
        tmp = path / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        staged.append((tmp, path / name))
        return tmp

    try:  # every file is written under a temporary name first: a full disk leaves the folder as it was
        if isinstance(estimator, TorchClassifier):
            config["kind"] = "torch"
            # callbacks observe one fit (objects, not settings): a run keeps what they measured, in the history
            config["params"] = {k: v for k, v in estimator.get_params().items() if k != "callbacks"}
            tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.network_.state_dict().items()}
            tensors.update(_calibration_tensors(estimator))
            config["temperature"] = float(getattr(estimator, "temperature_", 1.0))
            # serialised in memory and written by Python: a full disk is an OSError with its errno, where
            # safetensors' own file writer raises a SafetensorError that says only "IoError"
            stage(WEIGHTS).write_bytes(save_tensors(tensors, metadata={"format": str(FORMAT_VERSION)}))
            history = estimator.history_
            steps = getattr(estimator, "step_history_", [])
            if (
                0 < len(steps) <= MAX_SAVED_STEPS
            ):  # a few hundred kB at most; a longer run's epochs tell enough
                stage(STEPS).write_text(json_text(steps))
        else:
            import skops.io

            config["kind"] = "sklearn"
            skops.io.dump(estimator, stage(SKOPS))
            config["skops_signature"] = signature(staged[-1][0])
            history = []
        stage(HISTORY).write_text(json_text(history))
        stage(METRICS).write_text(json_text(metrics))
        stage(CONFIG).write_text(json_text(config))
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if created and not any(path.iterdir()):
            path.rmdir()  # no empty folder left behind
        raise RunError(
            f"{path}: cannot save the run ({exc.strerror or exc}); the folder keeps what it held"
        ) from None
    (path / CONFIG).unlink(missing_ok=True)  # the folder is incomplete until the new config.json is in place
    for tmp, final in staged:  # config.json last: a folder with config.json is complete
        os.replace(tmp, final)
    stale = [SKOPS if config["kind"] == "torch" else WEIGHTS, *DERIVED]  # an old run's other files
    if all(final.name != STEPS for _, final in staged):
        stale.append(STEPS)
    for name in stale:
        (path / name).unlink(missing_ok=True)
    return path


def load(path: str | Path, trust: bool = False) -> BaseEstimator:
    """The fitted estimator saved in a run folder; predictions are identical to the saved one's.

    Nothing is unpickled: weights are safetensors checked against the architecture, scikit-learn models are
    skops files of the registered types only.

    Parameters
    ----------
    path : str or Path
        The run folder (``config.json``, and ``weights.safetensors`` or ``model.skops``).
    trust : bool
        Also load tree models (random forests, boosting) that this machine did not sign: only for run folders
        from a source you trust (see :data:`TREE_TYPES`).

    Returns
    -------
    estimator
        Fitted, with the run's ``classes_``.

    Raises
    ------
    RunError
        For a folder that is not a complete run, a malformed field (named), or an untrusted model.

    Examples
    --------
    >>> clf = load("runs/cnn-mnist")  # doctest: +SKIP
    >>> clf.predict(images)  # doctest: +SKIP
    """
    return load_run(path, trust).estimator


def load_run(path: str | Path, trust: bool = False) -> Run:
    """Load a run folder: its estimator and everything it recorded.

    Parameters
    ----------
    path : str or Path
        The run folder.
    trust : bool
        As for :func:`load`.

    Returns
    -------
    Run
        ``path``, ``estimator``, ``config``, ``history`` and ``metrics``, each file checked field by field.

    Examples
    --------
    >>> run = load_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> run.config["model"], run.metrics["test_accuracy"]  # doctest: +SKIP
    """
    path = Path(path)
    config = read_config(path)
    estimator = _load_torch(path, config) if config["kind"] == "torch" else _load_sklearn(path, config, trust)
    history = estimator.history_ if config["kind"] == "torch" else read_history(path)  # read once
    return Run(path, estimator, config, history, read_metrics(path), read_steps(path))


MAX_SAVED_STEPS = 20_000  # optimizer steps whose losses a run keeps in steps.json (cnn on MNIST: 3,376)
MAX_NETWORK_BYTES = 4 << 30  # 4 GiB of float32 weights: a thousand times the largest registered network


def _check_network_size(shape_only: torch.nn.Module, path: Path) -> None:
    """The network a config implies must fit in its weights file (and under :data:`MAX_NETWORK_BYTES`) before it
    is built: a config of width 4096 over 1,000,000 features would otherwise allocate 16 GB, then fail to load
    a 100 KB file into it."""
    implied = sum(t.numel() * t.element_size() for t in shape_only.state_dict().values())
    try:
        on_disk = os.stat(path / WEIGHTS).st_size
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    if implied > MAX_NETWORK_BYTES:
        raise RunError(
            f"{path / CONFIG}: describes a network of {implied:,} bytes; mnistlab builds at most "
            f"{MAX_NETWORK_BYTES >> 30} GiB"
        )
    if implied > on_disk:
        raise RunError(
            f"{path / WEIGHTS}: holds {on_disk:,} bytes, fewer than the {implied:,} bytes of the network "
            f"{CONFIG} describes (truncated, or the config does not belong to these weights)"
        )


def _load_torch(path: Path, config: dict) -> TorchClassifier:
    try:
        clf = TorchClassifier(**config["params"])
        clf.validate_params()  # before anything is built: a width of 10**6 is refused, not allocated
        classes = np.asarray(config["classes_"])
        n_features = int(config.get("n_features_in", IMAGE_FEATURES))
        with torch.device("meta"):  # shapes only: nothing is allocated yet
            shape_only = build_network(clf.architecture, len(classes), clf.width, n_features)
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"{path / CONFIG}: invalid model parameters ({exc})") from None
    _check_network_size(shape_only, path)
    net = build_network(clf.architecture, len(classes), clf.width, n_features)
    try:
        state = load_file(str(path / WEIGHTS))
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    if config["format"] == 1:
        state = rename_format1_weights(state, clf.architecture)
    clf.temperature_, clf.conformal_ = _calibration_of(state, config, len(classes), path)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise RunError(
            f"{path / WEIGHTS}: weights do not fit the {clf.architecture!r} network ({first})"
        ) from None
    net.eval()
    clf.network_, clf.classes_, clf.n_features_in_ = net, classes, n_features
    clf.history_ = read_history(path)
    return clf


CONFORMAL_SCORES, CONFORMAL_LABELS = "calibration.conformal_scores", "calibration.conformal_labels"
# from format 3: the validation split's probabilities (N, classes), which APS and RAPS sets are calibrated on
CONFORMAL_PROBABILITIES = "calibration.conformal_probabilities"
CONFORMAL_TENSORS = (CONFORMAL_SCORES, CONFORMAL_LABELS, CONFORMAL_PROBABILITIES)


def _calibration_tensors(estimator: TorchClassifier) -> dict:
    """The conformal calibration (validation scores, labels and probabilities) as tensors beside the weights."""
    held_out = getattr(estimator, "conformal_", None)
    if held_out is None:
        return {}
    tensors = {
        CONFORMAL_SCORES: torch.from_numpy(np.ascontiguousarray(held_out.scores, dtype=np.float64)),
        CONFORMAL_LABELS: torch.from_numpy(np.ascontiguousarray(held_out.labels, dtype=np.int64)),
    }
    if held_out.probabilities is not None:  # None: a model loaded from a run saved before format 3
        tensors[CONFORMAL_PROBABILITIES] = torch.from_numpy(
            np.ascontiguousarray(held_out.probabilities, dtype=np.float64)
        )
    return tensors


def read_conformal(path: str | Path):
    """The conformal calibration saved with a PyTorch run (``None`` for other runs, or one saved before
    calibration existed), read without building the network (the web app on ONNX Runtime needs only this)."""
    from safetensors import safe_open

    path = Path(path)
    config = read_config(path)
    if config["kind"] != "torch":
        return None
    try:
        with safe_open(str(path / WEIGHTS), framework="pt") as file:
            names = set(file.keys())
            if not {CONFORMAL_SCORES, CONFORMAL_LABELS} <= names:
                return None
            state = {name: file.get_tensor(name) for name in CONFORMAL_TENSORS if name in names}
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    return _calibration_of(state, config, len(config["classes_"]), path)[1]


def _calibration_of(state: dict, config: dict, n_classes: int, path: Path) -> tuple:
    """(temperature, conformal calibration or None) of a saved run, taken out of ``state``; a run saved before
    calibration existed has temperature 1 and no prediction sets, one saved before format 3 no probabilities
    (its split and class-conditional sets work; APS and RAPS say why not)."""
    from mnistlab.models import ConformalCalibration

    temperature = config.get("temperature", 1.0)  # checked with the rest of config.json (runs/schema.py)
    scores, labels = state.pop(CONFORMAL_SCORES, None), state.pop(CONFORMAL_LABELS, None)
    probabilities = state.pop(CONFORMAL_PROBABILITIES, None)
    if scores is None or labels is None:
        return float(temperature), None
    scores, labels = scores.numpy(), labels.numpy()
    if (
        scores.shape != labels.shape
        or scores.ndim != 1
        or (len(labels) and not 0 <= labels.min() <= labels.max() < n_classes)
        or (probabilities is not None and tuple(probabilities.shape) != (len(labels), n_classes))
    ):
        raise RunError(
            f"{path / WEIGHTS}: its conformal calibration does not fit the model's {n_classes} classes"
        )
    # each score is 1 - a probability; a NaN would make every prediction set empty, silently
    if not np.all((scores >= 0) & (scores <= 1)):
        raise RunError(f"{path / WEIGHTS}: its conformal scores are not all in 0..1 (damaged or edited)")
    if probabilities is not None:
        probabilities = probabilities.numpy()
        true_class = probabilities[np.arange(len(labels)), labels]
        if not (np.all((probabilities >= 0) & (probabilities <= 1)) and np.allclose(1 - true_class, scores)):
            raise RunError(
                f"{path / WEIGHTS}: its conformal probabilities are not in 0..1 or disagree with its scores "
                "(damaged or edited)"
            )
    return float(temperature), ConformalCalibration(scores, labels, n_classes, probabilities)


MAX_SKOPS_BYTES = 4 << 30  # arrays loaded, in all: a forest of a few hundred MB is fine, a zip bomb is not
# skops writes its arrays uncompressed (mnistlab's files inflate 1.0 times); a file compressed afterwards may
# shrink real model arrays up to ~25 times (deflate on kNN's MNIST pixels: 23). Arrays inflating more than this,
# past 64 MB, are refused as crafted: a 2 MB file holding 4 GB of zeros is a bomb, not a model.
MAX_INFLATION = 50
INFLATION_FREE_BYTES = 64 << 20  # up to this, any ratio: a small model of mostly zeros compresses far
MAX_SCHEMA_BYTES = 64 << 20
MAX_REPEATED_BYTES = 64 << 20  # arrays loaded again because the schema names them more than once


def _check_skops_archive(file: Path) -> dict:
    """Before skops reads anything: the total size of the arrays the schema would load (each array's declared
    size, once per reference) is bounded absolutely and against the file's own size, each array's header fits
    its member's size, and arrays named more than once add at most 64 MB (one 200 MB array named by 8 nodes
    cost 3.5 GB inside skops' own trust check). Returns the schema."""
    import json
    import zipfile

    from mnistlab.datasets import check_array_member
    from mnistlab.fileio import open_regular

    try:
        with open_regular(file, "a skops file") as raw, zipfile.ZipFile(raw) as archive:
            on_disk = os.fstat(raw.fileno()).st_size
            members = {info.filename: info for info in archive.infolist()}
            if "schema.json" not in members or members["schema.json"].file_size > MAX_SCHEMA_BYTES:
                raise RunError(
                    f"{file}: no schema.json of at most {MAX_SCHEMA_BYTES >> 20} MB; not a skops file"
                )
            for name, info in members.items():
                if name.endswith(".npy"):
                    check_array_member(archive, info, file, name)
            schema = json.loads(archive.read("schema.json"))
    except FileNotFoundError:
        raise RunError(f"{file}: missing") from None
    except (DataFormatError, RunError) as exc:
        raise RunError(str(exc)) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RecursionError, NotImplementedError) as exc:
        raise RunError(f"{file}: not a valid skops file ({type(exc).__name__}: {exc})") from None
    sizes = {name: info.file_size for name, info in members.items()}
    loaded = _check_array_references(file, schema, sizes)
    _check_inflation(file, max(loaded, sum(sizes.values())), on_disk)
    return schema


def _check_inflation(file: Path, total: int, on_disk: int) -> None:
    if total > MAX_SKOPS_BYTES:
        raise RunError(
            f"{file}: its arrays declare {total:,} bytes, more than the {MAX_SKOPS_BYTES:,} bytes mnistlab loads"
        )
    if total > max(INFLATION_FREE_BYTES, MAX_INFLATION * on_disk):
        ratio = total / max(on_disk, 1)
        raise RunError(
            f"{file}: its arrays declare {total:,} bytes in a file of {on_disk:,} bytes ({ratio:,.0f} times; "
            "mnistlab's skops files are stored uncompressed); refused as crafted before anything is loaded"
        )


def _check_array_references(file: Path, schema, sizes: dict[str, int]) -> int:
    """scikit-learn objects can share an array (SVC does): a repeat is fine, a repeat that multiplies memory is
    not. Returns the bytes of all the arrays skops would load (each once per reference)."""
    from collections import Counter

    counts = Counter(_array_files(schema))
    repeated = sum(sizes.get(name, 0) * (count - 1) for name, count in counts.items())
    if repeated > MAX_REPEATED_BYTES:
        name = max(counts, key=lambda n: sizes.get(n, 0) * (counts[n] - 1))
        raise RunError(
            f"{file}: the {sizes.get(name, 0):,}-byte array {name} is referenced {counts[name]} times "
            f"({repeated:,} bytes more than the archive holds); refused as crafted"
        )
    return sum(sizes.get(name, 0) * count for name, count in counts.items())


def _array_files(schema) -> list[str]:
    """Every array file a skops schema references (walked without recursion: the schema may be deep)."""
    return [node["file"] for node in _nodes(schema) if isinstance(node.get("file"), str)]


def _nodes(schema) -> list[dict]:
    """Every object of a skops schema (walked without recursion: the schema may be deep)."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _foreign_types(file: Path, schema) -> list[str]:
    """What the schema builds that no mnistlab model contains: types outside :data:`ALLOWED_TYPES`, and any type
    built by a loader outside :data:`ALLOWED_LOADERS` (a function, a method, a reduce call), as
    ``module.name`` (``module.name via Loader`` for the latter)."""
    foreign = set()
    for node in _nodes(schema):
        if not {"__module__", "__class__", "__loader__"} & node.keys():
            continue
        module, name, loader = node.get("__module__"), node.get("__class__"), node.get("__loader__")
        if not all(isinstance(part, str) for part in (module, name, loader)):
            raise RunError(f"{file}: a schema node without a type name; not a skops file mnistlab wrote")
        if f"{module}.{name}" not in ALLOWED_TYPES:
            foreign.add(f"{module}.{name}")
        elif loader not in ALLOWED_LOADERS:
            foreign.add(f"{module}.{name} via {loader}")
    return sorted(foreign)


def _load_sklearn(path: Path, config: dict, trust: bool) -> BaseEstimator:
    import skops.io

    file = path / SKOPS
    schema = _check_skops_archive(file)
    named = {f"{node['__module__']}.{node['__class__']}" for node in _nodes(schema) if "__module__" in node}
    foreign = _foreign_types(file, schema)
    trusted = sorted(
        named & ALLOWED_TYPES
    )  # all mnistlab's: skops' own check (which loads every array) is moot
    if foreign:
        untrusted = trusted = _untrusted_by_skops(file)
        refused = sorted(set(untrusted) - ALLOWED_TYPES)
        if refused:
            raise RunError(
                f"{file}: refusing to load {', '.join(refused)}: no mnistlab model contains that type "
                "(a file naming it may be crafted to run code)"
            )
        if not trust:
            raise RunError(
                f"{file}: holds {', '.join(foreign)}, which no mnistlab model contains (a model changed to "
                "predict differently, or one made elsewhere); it loads only if you trust where it came from: "
                "trust=True (--trust)"
            )
    trees = sorted(named & TREE_TYPES)
    if trees and not trust and not signed_here(file, config.get("skops_signature")):
        raise RunError(
            f"{file}: a tree model this machine did not save (or changed since); tampered tree arrays can crash "
            "Python, so it loads only if you trust where it came from: trust=True"
        )
    try:
        estimator = skops.io.load(file, trusted=trusted)
    except Exception as exc:
        raise RunError(f"{file}: cannot load ({type(exc).__name__}: {exc})") from None
    _check_registry_model(estimator, config.get("model"), file, exact=not trust)
    _check_predicts(estimator, config, file)
    return estimator


def _untrusted_by_skops(file: Path) -> list[str]:
    import skops.io

    try:
        return skops.io.get_untrusted_types(file=file)
    except FileNotFoundError:
        raise RunError(f"{file}: missing") from None
    except Exception as exc:  # skops raises several kinds for a corrupt archive
        raise RunError(f"{file}: not a valid skops file ({type(exc).__name__}: {exc})") from None


def _check_predicts(estimator, config: dict, file: Path) -> None:
    """The loaded model predicts the run's classes for a blank input: arrays of the wrong shape or kind (a
    tampered file) fail here, named, instead of in the user's first prediction."""
    n_features = config.get("n_features_in", IMAGE_FEATURES)
    if not np.array_equal(np.asarray(getattr(estimator, "classes_", [])), np.asarray(config["classes_"])):
        raise RunError(f"{file}: the model's classes are not the classes_ of {CONFIG}")
    try:
        predicted = estimator.predict(np.zeros((1, n_features)))
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:200]
        raise RunError(f"{file}: the model it holds cannot predict ({type(exc).__name__}: {first})") from None
    if len(predicted) != 1 or predicted[0] not in config["classes_"]:
        raise RunError(f"{file}: the model it holds predicts {predicted[:1]!r}, not one of its classes")


def _check_registry_model(estimator, model: str, file: Path, exact: bool = True) -> None:
    """The loaded object must be what the registry builds for the run's model name: ``FlattenPixels``, an optional
    scaler and the model's estimator, exactly (``exact``), or at least first and last (a trusted file)."""
    from sklearn.pipeline import Pipeline

    from mnistlab import models
    from mnistlab.errors import UnknownModelError
    from mnistlab.models import SCALERS, FlattenPixels

    try:
        expected = type(models.create(model)[-1])
    except (UnknownModelError, TypeError):
        raise RunError(
            f"{file.parent / CONFIG}: model {model!r} is not a registered scikit-learn model"
        ) from None
    steps = estimator.steps if isinstance(estimator, Pipeline) else []
    if exact:
        scalers = {scaler for scaler in SCALERS.values() if scaler is not None}
        kinds = [(name, type(step)) for name, step in steps]
        fits = kinds in (
            [("flatten", FlattenPixels), ("model", expected)],
            *([("flatten", FlattenPixels), ("scaler", scaler), ("model", expected)] for scaler in scalers),
        )
    else:
        fits = (
            bool(steps) and type(steps[0][1]).__name__ == "FlattenPixels" and type(steps[-1][1]) is expected
        )
    if not fits:
        shown = " -> ".join(type(step).__name__ for _, step in steps) or type(estimator).__name__
        raise RunError(
            f"{file}: holds {shown}, not the {model!r} pipeline (FlattenPixels -> [scaler] -> {expected.__name__})"
        )
