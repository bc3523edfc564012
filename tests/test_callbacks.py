"""The training loop on callbacks: the same seed trains the same weights as the loop before callbacks, a caller's
callback measures without steering, stops training, sees every step, and can take over the batch order (where a
distributed sampler plugs in); bad callbacks are refused naming what was given."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from mnistlab import models
from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.training import Callback, EpochScore

# Few optimizer steps on purpose (the fits must be short; their warning says so)
pytestmark = pytest.mark.filterwarnings("ignore:.*too few to trust:UserWarning")


@pytest.fixture(scope="module")
def noisy(smooth_images):
    """240 smooth images in three classes, 30% of the labels noisy so that the validation loss turns."""
    X, y = smooth_images(240, seed=3)
    return X, np.where(np.random.default_rng(4).random(240) < 0.3, np.arange(240) % 3, y)


# Computed by the loop before it ran on callbacks (mnistlab at fcd3d0e), fp32 on one thread. Predictions are
# exact (the classes of the last 40 images); losses to 1e-4 relative, as another CPU's kernels may round the last bits differently.
PINNED = {
    "mlp": {
        "params": dict(epochs=30, batch_size=16, lr=0.01, early_stopping=3),
        "predictions": "1111122010122102102002001210021000201220",
        "val_loss": [0.735308, 0.726885, 0.97182, 0.804308, 0.853441],
        "train_loss": [0.903951, 0.729865, 0.620753, 0.566801, 0.517684],
        "best_epoch": 2,
        "steps": 50,
        "temperature": 1.2105720,
        "proba_of_class_0": 14.442668,  # summed over the 40 images: the restored weights' probabilities
    },
    "cnn-fast": {
        "params": dict(epochs=3, batch_size=32, augment="shift=1"),
        "predictions": "1111122010121102112002001110021000201220",
        "val_loss": [0.880027, 0.808855, 0.770497],
        "train_loss": [1.123326, 0.926348, 0.771647],
        "best_epoch": 3,
        "steps": 15,
        "temperature": 0.7623958,
        "proba_of_class_0": 16.430224,
    },
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_same_seed_trains_what_the_loop_before_callbacks_trained(noisy, name):
    """Early stopping, the best-weight restore (mlp stops after epoch 5 and goes back to epoch 2), the
    validation scores, augmentation and the schedule of steps, all as before."""
    X, y = noisy
    pinned = PINNED[name]
    clf = models.create(
        name, **pinned["params"], min_steps=None, validation_split=0.25, precision="fp32", seed=7, threads=1
    )
    clf.fit(X[:200], y[:200])
    assert "".join(map(str, clf.predict(X[200:]))) == pinned["predictions"]
    assert [row["val_loss"] for row in clf.history_] == pytest.approx(pinned["val_loss"], rel=1e-4)
    assert [row["train_loss"] for row in clf.history_] == pytest.approx(pinned["train_loss"], rel=1e-4)
    assert (clf.best_epoch_, clf.steps_) == (pinned["best_epoch"], pinned["steps"])
    assert clf.temperature_ == pytest.approx(pinned["temperature"], rel=1e-4)
    assert clf.predict_proba(X[200:])[:, 0].sum() == pytest.approx(pinned["proba_of_class_0"], rel=1e-4)


def test_an_epoch_score_is_measured_but_steers_nothing(blobs, fast):
    X, y = blobs()
    plain = models.create("mlp", **fast, seed=5).fit(X[:180], y[:180])
    score = EpochScore("test", X[180:], y[180:])
    watched = models.create("mlp", **fast, seed=5, callbacks=[score]).fit(X[:180], y[:180])
    np.testing.assert_array_equal(plain.predict_proba(X), watched.predict_proba(X))
    assert "test_accuracy" in watched.history_[-1] and "val_loss" not in watched.history_[-1]
    assert watched.history_[-1]["test_accuracy"] == pytest.approx(watched.score(X[180:], y[180:]))
    assert [row["seconds"] > 0 for row in watched.history_] == [True] * len(watched.history_)


def without_seconds(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in history]


def test_fit_monitor_data_still_measures_but_warns_naming_its_replacement(blobs, fast):
    X, y = blobs()
    with pytest.warns(FutureWarning, match=r"monitor_data.*deprecated.*EpochScore\('monitor', X, y\)"):
        old = models.create("mlp", **fast, seed=5).fit(X[:180], y[:180], monitor_data=(X[180:], y[180:]))
    score = EpochScore("monitor", X[180:], y[180:])
    new = models.create("mlp", **fast, seed=5, callbacks=[score]).fit(X[:180], y[:180])
    assert without_seconds(old.history_) == without_seconds(new.history_)
    assert "monitor_accuracy" in old.history_[-1] and old.callbacks is None, (
        "the model's parameters unchanged"
    )


def test_an_epoch_score_with_labels_of_no_training_class_is_refused_naming_it(blobs, fast):
    X, y = blobs()
    clf = models.create("mlp", **fast, callbacks=[EpochScore("test", X[180:], y[180:] + 7)])
    with pytest.raises(DataFormatError, match=r"EpochScore\('test'\) labels \[7"):
        clf.fit(X[:180], y[:180])
    clf.set_params(callbacks=[EpochScore("test", X[180:] / 255, y[180:])])  # images on the 0..1 scale
    with pytest.raises(DataFormatError, match="0..255"):
        clf.fit(X[:180], y[:180])


@pytest.mark.parametrize("name", ["val", "train", "test loss", "", 3])
def test_an_epoch_score_may_not_take_the_loops_own_names(name):
    """``val`` would overwrite the validation loss that early stopping and the best weights follow."""
    with pytest.raises(ParameterError, match="'test'"):
        EpochScore(name, np.zeros((2, 28, 28)), np.zeros(2))


@pytest.mark.parametrize("callbacks", [EpochScore("test", [], []), ["EarlyStopping"], [object()], "x"])
def test_callbacks_that_are_not_callback_objects_are_refused_naming_the_parameter(callbacks):
    with pytest.raises(ParameterError, match="callbacks=.*a list of mnistlab.training.Callback"):
        models.create("mlp", callbacks=callbacks)


class Recorder(Callback):
    """Records every hook call; stops training after ``stop_after`` epochs."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after, self.calls, self.losses = stop_after, [], []

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, state):
        self.calls.append(f"epoch_begin {state.epoch}")

    def on_step_end(self, state, loss):
        self.calls.append("step")
        self.losses.append(loss.item())

    def on_epoch_end(self, state, row):
        self.calls.append(f"epoch_end {state.epoch} {sorted(row)}")
        state.stop_training = state.epoch == self.stop_after

    def on_train_end(self, state):
        self.calls.append("train_end")


def test_a_callback_sees_every_hook_in_order_and_can_stop_training(blobs, fast):
    X, y = blobs()
    recorder = Recorder(stop_after=2)
    clf = models.create(
        "mlp", epochs=5, batch_size=64, threads=1, validation_split=0.25, callbacks=[recorder]
    )
    clf.fit(X, y)
    steps = clf.steps_ // 2
    assert len(clf.history_) == 2 and clf.steps_ == 2 * steps
    keys = "['epoch', 'lr', 'seconds', 'train_accuracy', 'train_loss', 'val_accuracy', 'val_loss']"
    epoch = ["epoch_begin {e}", *["step"] * steps, f"epoch_end {{e}} {keys}"]
    assert recorder.calls == [
        "train_begin",
        *[call.format(e=1) for call in epoch],
        *[call.format(e=2) for call in epoch],
        "train_end",
    ], "the validation score is in the row a caller's callback sees"
    assert recorder.losses == [step["train_loss"] for step in clf.step_history_]


class Counting(torch.nn.Module):
    """A wrapper that forwards to the network (as DistributedDataParallel does), counting the calls."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_a_callback_can_wrap_the_model_and_take_over_the_batch_order(blobs, fast):
    """Where distributed training plugs in: ``state.model`` is what the step calls (a wrapper here; the weights
    stay ``state.net``'s) and ``state.shuffle`` draws each epoch's rows (here the first half only)."""

    class Wrap(Callback):
        def on_train_begin(self, state):
            state.model = self.wrapper = Counting(state.net)

    class FirstHalf(Callback):
        def on_train_begin(self, state):
            state.shuffle = lambda n, generator: torch.randperm(n // 2, generator=generator)

    X, y = blobs()
    params = dict(epochs=2, batch_size=10, threads=1)
    whole = models.create("mlp", **params).fit(X, y)
    wrapped = models.create("mlp", **params, callbacks=[Wrap()]).fit(X, y)
    assert wrapped.callbacks[0].wrapper.calls == wrapped.steps_ == whole.steps_
    np.testing.assert_array_equal(wrapped.predict_proba(X), whole.predict_proba(X))
    half = models.create("mlp", **params, callbacks=[FirstHalf()]).fit(X, y)
    assert half.steps_ * 2 == whole.steps_


def test_callbacks_are_cloned_with_the_estimator_and_not_saved_in_a_run(blobs, fast, tmp_path):
    from mnistlab import runs

    X, y = blobs()
    recorder = Recorder()
    clf = models.create("mlp", **fast, callbacks=[recorder])
    copied = clone(clf)
    assert isinstance(copied.callbacks[0], Recorder) and copied.callbacks[0] is not recorder
    copied.fit(X, y)
    assert recorder.calls == [] and copied.callbacks[0].calls[0] == "train_begin"
    runs.save(tmp_path / "run", copied, model="mlp", data="blobs", classes=["a", "b", "c"])
    loaded = runs.load(tmp_path / "run")
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict_proba(X), copied.predict_proba(X))
