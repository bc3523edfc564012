"""Run folders handed to mnistlab by someone else: loading one must never run code or crash the process."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.errors import RunError

CLASSES = ["a", "b", "c"]


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


@pytest.mark.slow
def test_the_allow_list_covers_every_registered_model(tmp_path, blobs):
    """If a registry model ever contains a new untrusted type, this names it (and the list needs a decision)."""
    X, y = blobs(60)
    for name, spec in models.REGISTRY.items():
        if spec.kind != "sklearn":
            continue
        est = models.create(name).fit(X, y == 0 if name == "dummy-negative" else y)
        skops.io.dump(est, tmp_path / f"{name}.skops")
        untrusted = set(skops.io.get_untrusted_types(file=tmp_path / f"{name}.skops"))
        assert untrusted <= runs.TRUSTED_TYPES | runs.TREE_TYPES, (name, untrusted)
