"""Pixel attributions: saliency, integrated gradients and occlusion agree with Captum, integrated gradients are
complete, and the maps fail the model-randomisation sanity check the way real explanations must (they change)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mnistlab import models
from mnistlab.errors import ParameterError
from mnistlab.models.explain import explain, integrated_gradients, occlusion, saliency


@pytest.fixture(scope="module")
def trained(blobs):
    X, y = blobs(300)
    clf = models.create("cnn-fast", epochs=3, threads=1, batch_size=32, precision="fp32").fit(X, y)
    return clf, X, y


def test_the_maps_are_captums(trained):
    captum = pytest.importorskip("captum.attr")
    clf, X, _ = trained
    net = clf.network_.float().eval()
    images = X[:6]
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    target = net(x).argmax(1)
    theirs = captum.Saliency(net).attribute(x, target=target, abs=True)[:, 0].numpy()
    assert np.allclose(saliency(clf, images), theirs, atol=1e-6)
    theirs = (
        captum.IntegratedGradients(net)
        .attribute(x, target=target, n_steps=32, method="riemann_middle", baselines=0)[:, 0]
        .detach()
        .numpy()
    )
    assert np.allclose(integrated_gradients(clf, images), theirs, rtol=1e-4, atol=1e-5)
    probabilities = torch.nn.Sequential(net, torch.nn.Softmax(dim=1))
    theirs = (
        captum.Occlusion(probabilities)
        .attribute(x, target=target, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=0)[:, 0]
        .numpy()
    )
    assert np.allclose(occlusion(clf, images), theirs, atol=1e-5)


def test_integrated_gradients_add_up_to_the_change_in_the_logit(trained):
    clf, X, _ = trained
    maps = integrated_gradients(clf, X[:4], steps=128)
    net = clf.network_.float().eval()
    with torch.no_grad():
        x = torch.from_numpy(X[:4].astype(np.float32)).unsqueeze(1)
        logits, black = net(x), net(torch.zeros_like(x))
    target = logits.argmax(1)
    change = (logits.gather(1, target[:, None]) - black.gather(1, target[:, None]))[:, 0].numpy()
    assert np.allclose(maps.sum(axis=(1, 2)), change, rtol=0.05, atol=0.05)


def test_maps_change_when_the_weights_are_randomised(trained):
    """Adebayo et al. (2018): a map that survives randomising the model's weights explains nothing about the
    model. Here the maps of the trained network and of the same network with fresh random weights differ
    (rank correlation well below 1)."""
    from scipy.stats import spearmanr

    clf, X, _ = trained
    randomised = models.create("cnn-fast", epochs=3, threads=1, batch_size=32, precision="fp32")
    randomised.fit(X[:40], np.arange(40) % 3)
    for layer in randomised.network_.modules():
        if hasattr(layer, "reset_parameters") and layer is not randomised.network_.scaling:
            layer.reset_parameters()
    for method in ("saliency", "integrated_gradients"):
        target = clf.predict(X[:10])
        ours = explain(clf, X[:10], method, target)
        other = explain(randomised, X[:10], method, target)
        rho = np.mean([spearmanr(a.ravel(), b.ravel())[0] for a, b in zip(ours, other, strict=True)])
        assert rho < 0.6, (method, rho)


def test_bad_requests_get_one_line_errors(trained):
    clf, X, y = trained
    forest = models.create("logreg").fit(X.reshape(len(X), -1), y)
    with pytest.raises(ParameterError, match="explanations need a PyTorch model's gradients; Pipeline"):
        explain(forest, X[:2])
    with pytest.raises(ParameterError, match="method='lime'; expected one of 'saliency'"):
        explain(clf, X[:2], "lime")
    with pytest.raises(ParameterError, match=r"images of shape \(2, 784\)"):
        explain(clf, X[:2].reshape(2, -1))
    with pytest.raises(ParameterError, match="window=0"):
        occlusion(clf, X[:2], window=0)


def test_a_network_explains_itself_and_the_figure_explains_its_top_losses(trained):
    from mnistlab import viz
    from mnistlab.evaluation import evaluate_estimator

    clf, X, y = trained
    assert np.array_equal(clf.explain(X[:3], "saliency", target=1), saliency(clf, X[:3], target=1))
    evaluation = evaluate_estimator(clf, X, y, ["a", "b", "c"])
    assert viz.ExplanationDisplay.can_explain(clf)
    display = viz.ExplanationDisplay.from_estimator(clf, evaluation, X, k=4)
    worst = np.argsort(evaluation.proba[np.arange(len(y)), y], kind="stable")[
        :4
    ]  # least probable true classes
    assert np.array_equal(display.images, X[worst])
    predicted = evaluation.proba[worst].argmax(1)
    assert np.allclose(display.maps, integrated_gradients(clf, X[worst], predicted)), (
        "maps of the predicted class"
    )
    assert display.captions[0] == f"{'abc'[predicted[0]]} / {'abc'[y[worst[0]]]}"

    forest = models.create("logreg").fit(X.reshape(len(X), -1), y)
    assert not viz.ExplanationDisplay.can_explain(forest)
    with pytest.raises(ParameterError, match="Pipeline cannot explain its answers"):
        viz.ExplanationDisplay.from_estimator(forest, evaluation, X)
