"""A scikit-learn run's model file (skops), loaded without trusting it: the archive's sizes checked before
anything is read, every type its schema names checked against the types mnistlab's own models contain, tree
models only when this machine signed the file (or with trust), and the loaded object checked to be the registered
pipeline and to predict the run's classes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from mnistlab.errors import DataFormatError, RunError
from mnistlab.models import IMAGE_FEATURES
from mnistlab.runs.folder import CONFIG, SKOPS
from mnistlab.runs.signing import signed_here

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


def load_sklearn(path: str | Path, config: dict, trust: bool) -> BaseEstimator:
    """The fitted scikit-learn model of the run folder ``path`` (checked ``config.json``: ``config``); ``trust``
    as for :func:`mnistlab.runs.load`."""
    import skops.io

    path = Path(path)

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
