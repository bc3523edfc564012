"""The model registry and the one estimator contract, for PyTorch networks and scikit-learn models alike."""

import os
import signal

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_predict, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from mnistlab import models
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.models import FlattenPixels, networks
from mnistlab.training import loop
from mnistlab.training.augment import Augmentation


def plain_params(estimator) -> dict:
    """Every parameter that is not itself an estimator (those are compared through their own parameters)."""
    return {
        k: v
        for k, v in estimator.get_params(deep=True).items()
        if not hasattr(v, "get_params") and k != "steps"
    }


def test_registry_lists_and_creates_every_model():
    names = list(models.available())
    for required in [
        "softmax",
        "mlp",
        "cnn-kaggle",
        "cnn",
        "sgd",
        "logreg",
        "linear-svc",
        "svc",
        "knn",
        "random-forest",
        "extra-trees",
        "hist-gb",
        "naive-bayes",
        "dummy",
        "dummy-negative",
    ]:
        assert required in names
    for name in names:
        created, spec = models.create(name), models.get_spec(name)
        final = created if spec.kind == "torch" else created[-1]
        for key, value in spec.defaults.items():
            if key != "scaler":
                assert final.get_params()[key] == value, f"{name}: default {key}={value} not applied"
        assert plain_params(clone(created)) == plain_params(created), f"{name}: clone changed a parameter"
    assert models.create("sgd").get_params()["model__random_state"] == 42
    assert models.create("softmax").lr == 1e-4 and models.create("softmax").batch_size == 100
    assert models.create("mlp").epochs == 3
    assert (
        models.create("knn", scaler="standard").named_steps["scaler"].__class__.__name__ == "StandardScaler"
    )


def test_unknown_model_and_scaler_are_clear_errors():
    with pytest.raises(MnistlabError, match="unknown model 'cnnn'.*Did you mean 'cnn'"):
        models.create("cnnn")
    with pytest.raises(ParameterError, match="scaler='zscore'; expected one of 'none', 'minmax', 'standard'"):
        models.create("sgd", scaler="zscore")


@pytest.mark.parametrize("name", list(networks.NETWORKS))  # every registered network, tomorrow's included
def test_every_network_learns_the_easy_task(name, blobs, fast):
    X, y = blobs()
    epochs = {"softmax": 5, "cnn": 8, "cnn-fast": 5}.get(
        name, 3
    )  # BatchNorm's running statistics need a few dozen steps
    clf = models.create(name, **{**fast, "epochs": epochs, "lr": 0.01, "validation_split": 0})
    clf.fit(X[:180], y[:180])
    assert clf.score(X[180:], y[180:]) >= 0.9
    proba = clf.predict_proba(X[180:])
    assert proba.shape == (60, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.decision_function(X[180:]).shape == (60, 3)
    assert len(clf.history_) == epochs and {"train_loss", "train_accuracy", "lr", "seconds"} <= set(
        clf.history_[0]
    )


def test_estimator_contract_basics(blobs, fast):
    clf = models.create("mlp", **fast)
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((1, 28, 28), np.uint8))
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    X, y = blobs()
    labels = np.array(["a", "b", "c"])[y]
    clf.fit(X, labels)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    np.testing.assert_array_equal(clf.predict(X.reshape(len(X), -1)), clf.predict(X))
    with pytest.raises(ValueError, match="X has 10 features, but TorchClassifier is expecting 784"):
        clf.predict(np.zeros((2, 10)))


def test_same_seed_same_history_different_seed_differs(blobs, fast):
    X, y = blobs()
    first = models.create("cnn", **fast, seed=3).fit(X, y)
    second = models.create("cnn", **fast, seed=3).fit(X, y)
    third = models.create("cnn", **fast, seed=4).fit(X, y)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(first.history_) == strip(second.history_)
    assert strip(first.history_) != strip(third.history_)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_torch_model_works_with_sklearn_model_selection(blobs, fast):
    X, y = blobs(150)
    clf = models.create("mlp", **fast)
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    oof = cross_val_predict(clf, X, y, cv=3, method="predict_proba")
    assert oof.shape == (150, 3)
    grid = GridSearchCV(clf, {"lr": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert grid.best_params_["lr"] in (1e-4, 1e-2) and hasattr(grid.best_estimator_, "network_")
    ovr = OneVsRestClassifier(clf).fit(X, y)
    assert ovr.predict_proba(X).shape == (150, 3) and len(ovr.estimators_) == 3
    pipe = Pipeline([("flatten", FlattenPixels()), ("net", models.create("mlp", **fast))]).fit(X, y)
    assert pipe.score(X, y) > 0.8


def test_binary_decision_function_is_one_column(blobs, fast):
    X, y = blobs(120, 2)
    clf = models.create("mlp", **fast).fit(X, y == 1)
    scores = clf.decision_function(X)
    assert scores.shape == (120,)
    np.testing.assert_array_equal(scores > 0, clf.predict(X))


def test_validation_history_and_early_stopping_restore_best(blobs):
    X, y = blobs(400)
    y = np.where(np.random.default_rng(1).random(400) < 0.4, np.arange(400) % 2, y)  # 40% noisy labels
    # uncalibrated, so that predict_proba is the network's own softmax, whose loss the history recorded
    clf = models.create(
        "mlp", epochs=40, batch_size=8, lr=0.01, threads=1, early_stopping=3, calibration="none"
    )
    clf.fit(X[:300], y[:300], validation_data=(X[300:], y[300:]))
    assert len(clf.history_) < 40, "over-fitting noisy labels raises the validation loss and stops training"
    best = min(clf.history_, key=lambda row: row["val_loss"])
    assert clf.best_epoch_ == best["epoch"] < len(clf.history_)
    proba = clf.predict_proba(X[300:])
    restored_loss = -np.mean(np.log(proba[np.arange(100), y[300:]]))
    assert restored_loss == pytest.approx(best["val_loss"], rel=1e-4), "the best weights were restored"
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        models.create("mlp", epochs=1, early_stopping=2).fit(X, y)


def test_ctrl_c_keeps_history_and_best_weights(monkeypatch, blobs):
    real_epoch = loop._train_epoch
    calls = {"n": 0}

    def interrupted_epoch(*args, **kwargs):
        row = real_epoch(*args, **kwargs)  # the weights move, as when Ctrl-C arrives late in an epoch
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return row

    monkeypatch.setattr(loop, "_train_epoch", interrupted_epoch)
    X, y = blobs(400)
    y = np.where(
        np.random.default_rng(1).random(400) < 0.4, np.arange(400) % 2, y
    )  # noisy: loss keeps moving
    clf = models.create("mlp", epochs=10, batch_size=8, lr=0.01, threads=1, calibration="none")
    clf.fit(X[:300], y[:300], validation_data=(X[300:], y[300:]))
    assert clf.interrupted_ and len(clf.history_) == 2, "the unfinished epoch is not in the history"
    best = min(clf.history_, key=lambda row: row["val_loss"])
    proba = clf.predict_proba(X[300:])
    restored_loss = -np.mean(np.log(proba[np.arange(100), y[300:]]))
    assert restored_loss == pytest.approx(best["val_loss"], rel=1e-4), "the best epoch's weights came back"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_an_epoch_ends_keeps_that_epoch(blobs, signum):
    """The race CI met: SIGTERM right after an epoch's progress line lost that finished epoch (history 0)."""
    from mnistlab.training import Callback

    class InterruptAtEpochEnd(Callback):
        def on_epoch_end(self, state, row):
            if state.epoch == 2:
                os.kill(os.getpid(), signum)  # Python runs the handler as soon as os.kill returns
                row["after_the_signal"] = True  # the rest of the epoch's end still happens

    X, y = blobs(200)
    # what Ctrl-C did before: Python's own handler, or nothing where the test runs in a shell's background job
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    clf = models.create("mlp", epochs=5, threads=1, calibration="none", callbacks=[InterruptAtEpochEnd()])
    clf.fit(X, y)
    assert clf.interrupted_ and [row["epoch"] for row in clf.history_] == [1, 2]
    assert clf.history_[-1]["after_the_signal"]
    after = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert after == before, "the handlers of Ctrl-C and SIGTERM are back as they were"


def test_flips_are_refused_for_digits_unless_forced():

    with pytest.raises(ParameterError, match="horizontal flips turn digits into other shapes"):
        models.create("cnn", data="digits", augment="shift=1,flip")
    assert models.create("cnn", data="digits", augment="flip", force_flip=True).augment == "flip"
    assert models.create("cnn", data="objects").augment == "shift=1,flip", "the objects recipe flips"
    assert models.create("cnn", data=None, augment="flip").augment == "flip", "unknown kind: the user decides"
    assert models.create("cnn", data="digits").augment == "shift=2,rotate=8"


def test_bad_parameters_are_refused_before_training():
    """What the rules cannot say (each rule of each parameter: tests/test_parameter_rules.py): an unknown
    parameter, a parameter of another network, scikit-learn's own checks, a classic model's scaler."""
    with pytest.raises(ParameterError, match="model 'mlp' has no parameter 'epochz'; its parameters: "):
        models.create("mlp", epochz=3)
    with pytest.raises(ParameterError, match="optimizer='rmsprop'; expected one of 'adam'"):
        models.create("mlp", optimizer="rmsprop")  # at create, before fit
    with pytest.raises(ParameterError, match="width applies to cnn and mlp only, not .cnn-kaggle."):
        models.create("cnn-kaggle", width=8)
    with pytest.raises(ParameterError, match="svc: The 'C' parameter of SVC must be a float in the range"):
        models.create("svc", C=-1.0)
    with pytest.raises(ParameterError, match="scaler='zscore'; expected one of 'none', 'minmax', 'standard'"):
        models.create("sgd", scaler="zscore")


def test_augmentation_parse_identity_and_shift():
    assert Augmentation.parse(None) is None and Augmentation.parse("none") is None
    with pytest.raises(ValueError, match="cannot read 'spin=3'"):
        Augmentation.parse("spin=3")
    with pytest.raises(ValueError, match="'x' is not a number"):
        Augmentation.parse("shift=x")
    import torch

    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 255.0
    generator = torch.Generator().manual_seed(0)
    same = Augmentation.parse("shift=0")(x, generator)
    assert torch.allclose(same, x, atol=1e-3)
    moved = Augmentation.parse("shift=4,rotate=15,zoom=0.1,shear=0.1")(x, generator)
    assert moved.shape == x.shape and not torch.allclose(moved, x, atol=1.0)
    assert abs(moved.sum() / x.sum() - 1) < 0.35  # mostly a rigid move, not a wipe-out
    flipped = Augmentation(flip=True)(torch.arange(28.0).repeat(64, 1, 28, 1), generator)
    assert (flipped[:, 0, 0, 0] > 20).any() and (flipped[:, 0, 0, 0] < 7).any()


def test_brightness_lifts_each_image_by_one_amount_up_to_white():
    import torch

    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 255.0
    lifted = Augmentation.parse("brightness=0.5")(x, torch.Generator().manual_seed(0))
    paper = lifted[:, 0, 0, 0]
    assert (
        (paper > 0).all() and (paper <= 127.5 + 1e-3).all() and paper.std() > 10
    )  # random, up to half the scale
    assert torch.allclose(lifted[:, 0, :5, :5], paper.view(64, 1, 1).expand(64, 5, 5))  # one amount per image
    assert (lifted[:, :, 10:18, 10:18] == 255).all()  # the ink was white already: clipped, not wrapped
    with pytest.raises(ValueError, match="brightness=2.0 is a share of the scale"):
        Augmentation.parse("brightness=2")


def test_dummy_baselines(blobs):
    X, y = blobs(90)
    assert models.create("dummy").fit(X, y).score(X, y) == pytest.approx(1 / 3)
    never = models.create("dummy-negative").fit(X, y == 0)
    assert not never.predict(X).any()


@pytest.mark.parametrize("name", ["sgd", "logreg", "knn", "naive-bayes", "extra-trees"])
def test_classic_models_take_images(name, blobs):
    X, y = blobs(150)
    clf = models.create(name).fit(X[:120], y[:120])
    assert clf.score(X[120:], y[120:]) >= 0.9


def test_fast_dropout_matches_dropout_in_expectation():
    import torch

    from mnistlab.models.layers import FastDropout

    layer = FastDropout(0.25)
    x = torch.ones(400, 1000)
    out = layer.train()(x)
    assert torch.allclose(torch.unique(out), torch.tensor([0.0, 1 / 0.75]))
    assert abs((out == 0).float().mean().item() - 0.25) < 0.01 and abs(out.mean().item() - 1) < 0.01
    assert torch.equal(layer.eval()(x), x)


def test_fast_dropout_odd_sizes_and_probabilities():
    import torch

    from mnistlab.models.layers import FastDropout

    for p, shape in [(0.1, (3, 7, 11)), (0.5, (1,)), (0.9, (5, 2001))]:
        out = FastDropout(p).train()(torch.ones(shape))
        assert out.shape == shape
    out = FastDropout(0.1).train()(torch.ones(500, 1001))
    assert abs((out == 0).float().mean().item() - 0.1) < 0.01


def test_conv_relu_pool_training_path_equals_torch_layers():
    """The 4x4-patch matrix product used in training gives the same outputs and gradients as Conv2d -> ReLU
    -> MaxPool2d (the evaluation path)."""
    import torch

    from mnistlab.models.layers import ConvReluPool

    torch.manual_seed(0)
    layer = ConvReluPool(8)
    x = torch.rand(5, 1, 28, 28) * 255
    grads = []
    for training in (True, False):
        layer.zero_grad()
        out = layer.train(training)(x)
        (out * torch.arange(out.numel()).view_as(out).sin()).sum().backward()
        grads.append((out.detach(), layer.weight.grad.clone(), layer.bias.grad.clone()))
    assert grads[0][0].shape == (5, 8, 13, 13)
    for fast, reference in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(fast, reference, rtol=1e-4, atol=1e-3)


def test_given_adam_betas_stay_fixed_under_onecycle(blobs, fast, monkeypatch):
    """OneCycle cycles Adam's beta1 unless betas are given (the cnn-fast recipe's (0.7, 0.9) must hold)."""
    import torch

    seen = []
    step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["betas"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    X, y = blobs()
    params = {**fast, "epochs": 2, "schedule": "onecycle", "validation_split": 0}
    models.create("mlp", **params, betas=[0.7, 0.9]).fit(X, y)
    assert set(seen) == {(0.7, 0.9)}
    seen.clear()
    models.create("mlp", **params).fit(X, y)
    assert len({b[0] for b in seen}) > 10, "without given betas, beta1 follows the cycle"


def test_cnn_fast_recipe_and_size():
    from mnistlab.models import networks

    clf = models.create("cnn-fast")
    assert (clf.epochs, clf.batch_size, clf.betas, clf.label_smoothing) == (1, 256, (0.7, 0.9), 0.1)
    net = networks.build("cnn-fast", 10)
    assert net(torch_zeros()).shape == (1, 10)
    assert (
        sum(p.numel() for p in net.parameters() if p.requires_grad)
        == 16 * 26 + 32 * 145 + 801 * 128 + 129 * 10
    )


def torch_zeros():
    import torch

    return torch.zeros(1, 1, 28, 28)


def test_flip_tta_is_refused_for_digits_and_is_the_clothes_default():
    with pytest.raises(ParameterError, match="horizontal flips turn digits"):
        models.create("cnn", data="digits", tta="flip")
    assert models.create("cnn", data="digits", tta="flip", force_flip=True).tta == "flip"
    assert (
        models.create("cnn", data="objects").tta == "flip" and models.create("cnn", data="digits").tta is None
    )
    with pytest.raises(ParameterError, match="tta="):
        models.create("cnn", tta="rotate")


@pytest.mark.parametrize("steps", [1, 2, 4, 5])
def test_a_one_cycle_recipe_trains_on_a_handful_of_batches(blobs, steps):
    """``cnn``'s OneCycle schedule on data of a few batches (torch's OneCycleLR divides by zero below 5 steps):
    training runs and gives probabilities."""
    X, y = blobs(16 * steps)
    clf = models.create("cnn", epochs=1, batch_size=16, threads=1).fit(X, y)
    assert len(clf.history_) == 1 and np.allclose(clf.predict_proba(X[:3]).sum(1), 1, atol=1e-5)


def test_a_network_registered_in_one_place_is_a_model_everywhere(blobs, monkeypatch, capsys):
    """One decorated builder is all a new network needs: the registry, ``create``, training, the command line's
    list and the architecture facts (dense, width) all come from its registration."""
    from torch import nn

    from mnistlab.cli.main import main
    from mnistlab.models.layers import InputScaling

    monkeypatch.setattr(networks, "NETWORKS", dict(networks.NETWORKS))
    monkeypatch.setattr(models.registry, "REGISTRY", dict(models.registry.REGISTRY))

    @networks.network(
        "tiny-dense", "a test network: one hidden layer of 8", defaults={"epochs": 3}, dense=True
    )
    def tiny(n_classes: int, n_features: int = 784) -> nn.Sequential:
        layers = [
            ("scaling", InputScaling((1, 28, 28))),
            ("flatten", nn.Flatten()),
            ("dense", nn.Linear(n_features, 8)),
        ]
        return networks._named(*layers, ("relu", nn.ReLU()), ("logits", nn.Linear(8, n_classes)))

    X, y = blobs(120)
    clf = models.create("tiny-dense", threads=1, lr=0.01).fit(X, y)
    assert clf.epochs == 3 and len(clf.history_) == 3 and clf.predict_proba(X[:2]).shape == (2, 3)
    assert "tiny-dense" in models.available()
    assert main(["models"]) == 0 and "tiny-dense" in capsys.readouterr().out
    with pytest.raises(ParameterError, match="width applies to cnn and mlp only"):
        models.create("tiny-dense", width=4)
