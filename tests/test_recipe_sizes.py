"""Recipes sized by the data: the epochs rise on small data until a recipe's optimizer steps are reached, MNIST's
60,000 images keep every published recipe exactly, an explicit epochs is kept, and a fit of too few steps warns.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mnistlab import models
from mnistlab.errors import ParameterError
from mnistlab.models import networks

RECIPES = ("softmax", "mlp", "cnn-kaggle", "cnn", "cnn-fast")
# Each recipe's epochs as published (README, benchmarks/results): the numbers MNIST's 60,000 images must keep.
PUBLISHED_EPOCHS = {"softmax": 50, "mlp": 3, "cnn-kaggle": 4, "cnn": 8, "cnn-fast": 1}


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = (X[:, :, :14].mean((1, 2)) > X[:, :, 14:].mean((1, 2))).astype(int)  # brighter on the left?
    return X, y


def _mnist_training_rows(recipe: dict) -> int:
    """The images a recipe trains on in `mnistlab train` on MNIST: 60,000 less its validation split (train's 0.1
    where the recipe names none), as scikit-learn's train_test_split rounds it."""
    return 60_000 - math.ceil(60_000 * recipe.get("validation_split", 0.1))


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_states_its_steps_and_trains_its_published_epochs_on_mnist(name):
    from mnistlab.training.loop import resolve_epochs

    for kind in ("digits", "objects"):
        recipe = models.get_spec(name).recipe_for(kind)
        assert recipe["min_steps"] >= 100, "a recipe's own steps are never too few to trust"
        rows = _mnist_training_rows(recipe)
        resolved = resolve_epochs(rows, recipe["batch_size"], recipe["epochs"], recipe["min_steps"])
        assert resolved == recipe["epochs"], f"{name} ({kind}) at {rows} rows: {resolved} epochs"
    assert models.get_spec(name).recipe_for("digits")["epochs"] == PUBLISHED_EPOCHS[name]


def test_softmax_keeps_its_50_epochs_on_the_kaggle_tutorials_rows():
    from mnistlab.training.loop import resolve_epochs

    recipe = models.get_spec("softmax").defaults
    rows = 42_000 - 8_400 - 6_720  # train.csv less the tutorial's 20% test and the recipe's 20% validation
    assert resolve_epochs(rows, recipe["batch_size"], recipe["epochs"], recipe["min_steps"]) == 50


def test_cnn_fast_on_54000_rows_is_one_epoch_and_on_small_data_enough_epochs_for_its_steps():
    from mnistlab.training.loop import MAX_RESOLVED_EPOCHS, resolve_epochs

    recipe = models.get_spec("cnn-fast").defaults
    assert resolve_epochs(54_000, 256, 1, recipe["min_steps"]) == 1
    assert resolve_epochs(1_260, 256, 1, recipe["min_steps"]) == 43  # 1,400 images: 5 steps an epoch -> 211+
    assert resolve_epochs(450, 256, 1, recipe["min_steps"]) == MAX_RESOLVED_EPOCHS  # capped on tiny data
    assert resolve_epochs(1_260, 256, 60, recipe["min_steps"]) == 60  # never fewer than the recipe's epochs
    assert resolve_epochs(1_260, 256, 1, None) == 1


def test_dense_networks_may_rise_to_1000_epochs_conv_nets_to_100():
    X, y = _images(40)
    mlp = models.create("mlp", min_steps=400, batch_size=40, threads=1).fit(X, y)  # 1 step an epoch
    assert mlp.epochs_ == 400
    cnn = models.create("cnn-fast", min_steps=400, batch_size=40, threads=1).fit(X, y)
    assert cnn.epochs_ == 100


def test_the_epochs_rise_on_small_data_and_the_fit_records_what_it_resolved():
    X, y = _images(64)
    clf = models.create("softmax", epochs=1, min_steps=20, batch_size=32, validation_split=0, threads=1)
    with pytest.warns(UserWarning, match="20 optimizer steps"):  # min_steps given, but fewer than 100
        clf.fit(X, y)
    assert (clf.epochs_, clf.steps_) == (10, 20)  # 2 steps an epoch -> 10 epochs for 20 steps
    assert len(clf.history_) == 10 and clf.epochs == 1, (
        "the parameter stays as given (scikit-learn's contract)"
    )


def test_a_recipe_fit_on_small_data_takes_enough_steps_without_warning():
    X, y = _images(60)
    clf = models.create("softmax", threads=1)  # recipe: batch 100, 20% held out -> 1 step an epoch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)
    assert clf.epochs_ == 1000 and clf.steps_ == 1000  # 50 epochs before; more, up to a dense network's cap


def test_an_explicit_epochs_is_trained_as_given():
    assert models.create("cnn-fast").min_steps == 211
    assert models.create("cnn-fast", epochs=1).min_steps is None
    assert models.create("cnn", epochs=3, min_steps=50).min_steps == 50  # both given: both kept
    X, y = _images(64)
    with pytest.warns(UserWarning):
        clf = models.create("softmax", epochs=2, batch_size=32, validation_split=0, threads=1).fit(X, y)
    assert (clf.epochs_, clf.steps_, len(clf.history_)) == (2, 4, 2)


def test_epochs_set_by_set_params_are_trained_as_given_too():
    """A grid search over epochs (clone, then set_params) compares the epochs asked for, not one resized schedule."""
    from sklearn.base import clone

    searched = clone(models.create("softmax", batch_size=32, validation_split=0, threads=1)).set_params(
        epochs=2
    )
    assert searched.min_steps is None
    X, y = _images(64)
    with pytest.warns(UserWarning):
        clf = searched.fit(X, y)
    assert (clf.epochs_, clf.steps_) == (2, 4)
    assert clone(models.create("cnn-fast")).set_params(lr=0.02).min_steps == 211, "other parameters keep it"


def test_too_few_steps_warn_and_name_the_fix():
    X, y = _images(64)
    clf = models.create("cnn-fast", epochs=1, threads=1)
    fix = r"train epochs=100, or give no epochs: the recipe sizes them to the data$"  # 100: what the recipe would train here
    with pytest.warns(
        UserWarning, match=r"cnn-fast trains only 1 optimizer step \(1 epoch of 64 images.*" + fix
    ):
        clf.fit(X, y)


def test_enough_steps_do_not_warn():
    X, y = _images(64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.create("softmax", epochs=25, batch_size=16, validation_split=0, threads=1).fit(
            X, y
        )  # 100 steps


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many", True])
def test_a_bad_min_steps_is_refused_naming_it(bad):
    with pytest.raises(ParameterError, match="min_steps"):
        models.create("cnn-fast", min_steps=bad)


def test_a_one_epoch_run_records_every_step_and_its_curves_are_drawn_per_step():
    from mnistlab import viz

    X, y = _images(64)
    with pytest.warns(UserWarning, match="too few"):
        clf = models.create("mlp", epochs=1, batch_size=16, validation_split=0.25, threads=1).fit(X, y)
    assert [row["step"] for row in clf.step_history_] == [1, 2, 3]  # 48 training images, batch 16
    assert {row["epoch"] for row in clf.step_history_} == {1}
    assert all(np.isfinite(row["train_loss"]) and row["lr"] > 0 for row in clf.step_history_)
    curves = viz.LearningCurveDisplay.from_estimator(clf).plot()
    loss_panel, accuracy_panel = curves.axes_[0]
    assert curves.per_step and loss_panel.get_xlabel() == "optimizer step"
    assert list(loss_panel.lines[0].get_xdata()) == [1, 2, 3]  # a loss per batch
    assert list(loss_panel.lines[1].get_xdata()) == [3]  # validation at the step that ended the epoch
    assert all(float(t).is_integer() for t in accuracy_panel.get_xticks())


def test_runs_of_many_epochs_keep_the_epoch_axis_with_integer_ticks():
    from mnistlab import viz

    history = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 1 - 1 / (e + 1)} for e in range(1, 6)]
    steps = [{"step": s, "epoch": (s + 1) // 2, "train_loss": 1 / s} for s in range(1, 11)]
    curves = viz.LearningCurveDisplay.from_history(history, steps=steps).plot()
    assert not curves.per_step
    for panel in curves.axes_[0]:
        assert panel.get_xlabel() == "epoch"
        assert all(float(t).is_integer() for t in panel.get_xticks())


def test_a_recipe_learns_1000_mnist_images_with_its_defaults(real_data):
    """cnn-fast's one epoch was 4 optimizer steps on 900 images: about 20% test accuracy, no hint."""
    from mnistlab import datasets
    from mnistlab.datasets.dataset import stratified_sample

    train, test = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    keep = stratified_sample(train.labels, 1000, 0)
    clf = models.create("cnn-fast", train, validation_split=0.1, threads=2)
    clf.fit(train.images[keep], train.labels[keep])
    check = stratified_sample(test.labels, 2000, 0)
    assert clf.score(test.images[check], test.labels[check]) > 0.85


def test_the_networks_registry_lists_min_steps_for_every_network():
    assert all("min_steps" in spec.defaults for spec in networks.NETWORKS.values())


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_a_run_records_the_epochs_its_recipe_resolved_and_lists_them(tmp_path):
    from mnistlab import datasets, runs
    from mnistlab.workflows.train import train_model

    X, y = _images(100)
    data = datasets.export(datasets.Dataset(X, y, ["right", "left"]), tmp_path / "data", "npz")
    run = train_model(data, "softmax", test_fraction=0.2, seed=0, out=tmp_path / "run", verbose=0)
    # 80 training images, 20% held out for validation: 64 rows, one step an epoch -> 1000 epochs (the cap)
    assert (run.metrics["epochs"], run.metrics["optimizer_steps"]) == (1000, 1000)
    assert len(run.history) == 1000 and run.estimator.epochs == 50
    [listed] = runs.list_runs(tmp_path)
    assert listed["epochs"] == "1000", "the epochs it ran, never '1000 of 50'"


def test_the_command_line_prints_the_too_few_steps_warning_as_one_line(tmp_path):
    import subprocess
    import sys

    from mnistlab import datasets

    X, y = _images(100)
    data = datasets.export(datasets.Dataset(X, y, ["right", "left"]), tmp_path / "data", "npz")
    command = ["train", "--data", str(data), "--model", "softmax", "--epochs", "1", "--test-fraction", "0.2"]
    done = subprocess.run(
        [sys.executable, "-c", "from mnistlab.cli import entry; entry()", *command],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "optimizer step" in line]
    assert len(said) == 1 and said[0].startswith("warning: softmax trains only 1 optimizer step"), done.stderr
    assert "train epochs=1000" in said[0] and "UserWarning" not in done.stderr
