"""Run folders handed to mnistlab by someone else: loading one must never run code or crash the process."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.errors import RunError

CLASSES = ["a", "b", "c"]
ZEROS = np.zeros((2, 784))


@pytest.fixture
def saved(tmp_path, tmp_home, blobs):
    """A logreg run and a random-forest run, saved (and so signed) on this machine."""
    X, y = blobs(90)
    for name in ("logreg", "random-forest"):
        est = models.create(name, **({"n_estimators": 5} if name == "random-forest" else {})).fit(X, y)
        runs.save(tmp_path / name, est, model=name, data="toy", classes=CLASSES)
    return tmp_path, X


def rewrite_schema(file, old: str, new: str) -> None:
    """Edit the JSON schema inside a skops archive, as an attacker would."""
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["schema.json"] = members["schema.json"].decode().replace(old, new).encode()
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("module", "function"),
    [("sklearn.utils._testing", "check_output"), ("sklearn.datasets._species_distributions", "remove")],
)
def test_functions_named_inside_scikit_learn_are_refused(saved, module, function, capsys):
    """Both names resolve to os/subprocess functions; a module prefix was once enough to trust them."""
    root, X = saved
    evil = root / "evil"
    shutil.copytree(root / "logreg", evil)
    skops.io.dump(Pipeline([("run", FunctionTransformer(func=os.system))]), evil / "model.skops")
    rewrite_schema(evil / "model.skops", '"__class__": "system",\n', f'"__class__": "{function}",\n')
    rewrite_schema(evil / "model.skops", '"__module__": "posix"', f'"__module__": "{module}"')
    with pytest.raises(RunError, match=f"refusing to load {module}.{function}: no mnistlab model contains"):
        runs.load(evil)
    (root / "test.csv").write_text("\n".join(",".join(map(str, img.ravel())) for img in X[:2]) + "\n")
    code = main(["predict", str(evil), "--csv", str(root / "test.csv"), "--submission", str(root / "s.csv")])
    assert code == 1 and "refusing to load" in capsys.readouterr().err and not (root / "s.csv").exists()


def test_tree_models_load_when_signed_here_or_trusted(saved):
    root, X = saved
    forest = runs.load(root / "random-forest")
    assert forest.predict(X).shape == (90,)
    config = json.loads((root / "random-forest" / "config.json").read_text())
    config.pop("skops_signature")  # as if another machine wrote it
    (root / "random-forest" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match="a tree model this machine did not save.*trust=True"):
        runs.load(root / "random-forest")
    np.testing.assert_array_equal(runs.load(root / "random-forest", trust=True).predict(X), forest.predict(X))


def test_a_signed_tree_model_changed_afterwards_is_refused(saved):
    root, _ = saved
    file = root / "random-forest" / "model.skops"
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    tree_arrays = [name for name in members if name.endswith(".npy")]
    members[tree_arrays[0]] = members[tree_arrays[0]][:-8] + b"\xff" * 8  # a tampered array, same size
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(RunError, match="did not save \\(or changed since\\)"):
        runs.load(root / "random-forest")


def test_a_file_holding_another_model_than_its_config_says_is_refused(saved, blobs):
    from sklearn.svm import SVC

    root, _ = saved
    X, y = blobs(60)
    skops.io.dump(SVC().fit(X.reshape(60, -1), y), root / "logreg" / "model.skops")
    with pytest.raises(RunError, match="holds SVC, not the 'logreg' pipeline"):
        runs.load(root / "logreg")


def _schema_types(file) -> set[tuple[str, str]]:
    """Every (module.name, loader) a skops file's schema builds."""
    with zipfile.ZipFile(file) as archive:
        stack, found = [json.loads(archive.read("schema.json"))], set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__module__" in node:
                found.add((f"{node['__module__']}.{node['__class__']}", node["__loader__"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


# What mnistlab's own models can be, beyond their defaults: every scaler, a binary task, data of few features (kNN
# then builds a KD or ball tree), other losses and solvers.
VARIANTS = [
    *((name, {}) for name, spec in models.REGISTRY.items() if spec.kind == "sklearn"),
    *(("logreg", {"scaler": scaler}) for scaler in ("none", "minmax", "standard")),
    ("knn", {"scaler": "minmax"}),
    *(("sgd", {"loss": loss}) for loss in ("log_loss", "modified_huber", "squared_hinge")),
    ("sklearn-mlp", {"solver": "sgd", "max_iter": 20}),
    ("sklearn-mlp", {"early_stopping": True, "max_iter": 20}),
    ("hist-gb", {"max_iter": 5}),
    ("gradient-boosting", {"n_estimators": 3, "max_depth": 2}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("task"), ["images", "binary", "few-features"])
def test_the_allow_list_covers_every_registered_model(tmp_path, tmp_home, blobs, task):
    """If a registry model ever contains a new type, this names it (and the list needs a decision); each loads
    without trust (tree models: signed here)."""
    X, y = blobs(60)
    if task == "few-features":
        X = X.reshape(len(X), -1)[:, 200:206].astype(np.float64)
    classes = ["a", "b"] if task == "binary" else CLASSES
    for name, params in VARIANTS:
        labels = (y == 0).astype(np.int64) if task == "binary" or name == "dummy-negative" else y
        est = models.create(name, **params).fit(X, labels)
        folder = runs.save(tmp_path / f"{name}-{len(params)}", est, model=name, data="toy", classes=classes)
        found = _schema_types(folder / "model.skops")
        assert {t for t, _ in found} <= runs.ALLOWED_TYPES, (name, params, found)
        assert {loader for _, loader in found} <= runs.ALLOWED_LOADERS, (name, params, found)
        np.testing.assert_array_equal(runs.load(folder).predict(X), est.predict(X))


def _logreg_with(root, steps):
    """The saved logreg run, its model.skops replaced by a pipeline of these steps around its own."""
    evil = root / "evil"
    shutil.copytree(root / "logreg", evil)
    original = runs.load(root / "logreg")
    flatten, *middle, model = original.steps
    skops.io.dump(Pipeline(steps(flatten, middle, model)), evil / "model.skops")
    return evil


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (  # every type here is scikit-learn's or numpy's, which skops trusts by default
            lambda f, m, e: [f, ("negate", FunctionTransformer(np.negative).fit(ZEROS)), *m, e],
            "holds numpy.negative, sklearn.preprocessing._function_transformer.FunctionTransformer, which no "
            "mnistlab model contains",
        ),
        (
            lambda f, m, e: [
                f,
                ("root", FunctionTransformer(np.sqrt).fit(ZEROS)),
                *m,
                e,
            ],
            "holds numpy.sqrt, sklearn.preprocessing._function_transformer.FunctionTransformer",
        ),
        (
            lambda f, m, e: [f, ("norm", Normalizer().fit(ZEROS)), e],
            "holds sklearn.preprocessing._data.Normalizer",
        ),
    ],
)
def test_a_pipeline_changed_with_types_skops_trusts_needs_trust(saved, capsys, steps, message):
    root, X = saved
    evil = _logreg_with(root, steps)
    (root / "test.csv").write_text("\n".join(",".join(map(str, img.ravel())) for img in X[:2]) + "\n")
    with pytest.raises(RunError, match=f"model.skops: {message}.*trust=True \\(--trust\\)"):
        runs.load(evil)
    assert (
        main(["predict", str(evil), "--csv", str(root / "test.csv"), "--submission", str(root / "s.csv")])
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "which no mnistlab model contains" in err
    changed = runs.load(evil, trust=True)  # the user vouches for the file: it loads, as it is
    assert type(changed.steps[1][1]).__name__ in {"FunctionTransformer", "Normalizer"}


@pytest.mark.parametrize(
    "steps",
    [
        lambda f, m, e: [f, ("scaler", StandardScaler().fit(ZEROS)), *m, e],  # two scalers
        lambda f, m, e: [f, e, *m],  # the scaler after the model
        lambda f, m, e: [("model", e[1]), ("flatten", f[1])],
    ],
)
def test_a_pipeline_of_allowed_types_in_another_order_is_refused(saved, steps):
    root, _ = saved
    with pytest.raises(RunError, match="not the 'logreg' pipeline \\(FlattenPixels -> \\[scaler\\] ->"):
        runs.load(_logreg_with(root, steps))


def test_a_function_where_an_estimator_takes_a_callable_needs_trust(saved, blobs):
    """kNN calls its ``weights`` when it predicts: a function there is code the file chose."""
    from sklearn.neighbors import KNeighborsClassifier

    root, X = saved
    _, y = blobs(90)
    knn = models.create("knn").fit(X, y)
    knn.steps[-1][1].set_params(weights=np.negative)
    (root / "logreg" / "config.json").write_text(
        (root / "logreg" / "config.json").read_text().replace('"logreg"', '"knn"')
    )
    skops.io.dump(knn, root / "logreg" / "model.skops")
    assert isinstance(knn.steps[-1][1], KNeighborsClassifier)
    with pytest.raises(RunError, match="holds numpy.negative, which no mnistlab model contains"):
        runs.load(root / "logreg")


def test_a_model_whose_arrays_do_not_fit_is_refused_when_loaded(saved):
    """Arrays of another shape load (skops checks no shapes) and fail at the first prediction: refused at once."""
    root, _ = saved
    model = runs.load(root / "logreg")
    model.steps[-1][1].coef_ = np.zeros((3, 10))
    skops.io.dump(model, root / "logreg" / "model.skops")
    with pytest.raises(RunError, match="model.skops: the model it holds cannot predict \\(ValueError"):
        runs.load(root / "logreg")


def test_a_model_with_other_classes_than_its_config_is_refused(saved):
    root, _ = saved
    model = runs.load(root / "logreg")
    model.steps[-1][1].classes_ = np.array([0, 2, 1])
    skops.io.dump(model, root / "logreg" / "model.skops")
    with pytest.raises(RunError, match="the model's classes are not the classes_ of config.json"):
        runs.load(root / "logreg")
