"""Why this answer? Pixel attribution maps for the PyTorch models: saliency (Simonyan et al., 2014), integrated
gradients (Sundararajan et al., 2017) and occlusion (Zeiler and Fergus, 2014), written here with PyTorch's
autograd and checked against Captum (BSD-3; a test dependency) in the tests.

Every map is (N, 28, 28), one value per pixel of the image as the model takes it (0..255), for the ``target``
class of each image (by default the class the model predicts):

- ``saliency``: the absolute gradient of the target's logit with respect to each pixel;
- ``integrated_gradients``: (pixel - baseline) x the mean gradient along the straight path from a black image to
  the image (``steps`` midpoints); the maps sum to the logit's change from baseline to image (completeness);
- ``occlusion``: how much the target's probability falls when a ``window`` x ``window`` patch is set to black,
  averaged over the patches (``stride`` apart) covering each pixel.

Examples
--------
>>> import numpy as np
>>> from mnistlab import models
>>> X = np.random.default_rng(0).integers(0, 256, (60, 28, 28), dtype=np.uint8)
>>> clf = models.create("mlp", epochs=2, threads=1).fit(X, (X[:, :, :14].mean((1, 2)) > X[:, :, 14:].mean((1, 2))).astype(int))
>>> explain(clf, X[:2], "saliency").shape
(2, 28, 28)
"""

from __future__ import annotations

import numpy as np
import torch

from mnistlab.errors import ParameterError
from mnistlab.params import integer, one_of, validates

METHODS = ("saliency", "integrated_gradients", "occlusion")


def _network(estimator) -> torch.nn.Module:
    # A fitted network, recognised by its module rather than its class: TorchClassifier.explain calls here, so
    # this module does not import it back.
    if not isinstance(getattr(estimator, "network_", None), torch.nn.Module):
        raise ParameterError(
            f"explanations need a PyTorch model's gradients; {type(estimator).__name__} has none (a fitted "
            "network has): train one of the networks (mnistlab models lists them)"
        )
    if estimator.n_features_in_ != 784:
        raise ParameterError("explanations draw maps over 28x28 images; this model takes other features")
    return estimator.network_.float().eval()


def _inputs(images: np.ndarray) -> torch.Tensor:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ParameterError(f"images of shape {images.shape}; explanations take (N, 28, 28) images")
    return torch.from_numpy(images.astype(np.float32)).unsqueeze(1)


def _targets(net: torch.nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    if target is None:
        with torch.no_grad():
            return net(x).argmax(dim=1)
    target = torch.as_tensor(np.asarray(target), dtype=torch.long).reshape(-1)
    return target.expand(len(x)) if len(target) == 1 else target


def _gradients(net: torch.nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    logits = net(x)
    chosen = logits.gather(1, target[:, None]).sum()
    (grad,) = torch.autograd.grad(chosen, x)
    return grad


def saliency(estimator, images: np.ndarray, target=None) -> np.ndarray:
    """|d logit[target] / d pixel| of each image."""
    net = _network(estimator)
    x = _inputs(images)
    return _gradients(net, x, _targets(net, x, target)).abs()[:, 0].numpy()


@validates(None, steps=integer(low=1))
def integrated_gradients(estimator, images: np.ndarray, target=None, steps: int = 32) -> np.ndarray:
    """(pixel - 0) x the mean gradient at ``steps`` midpoints of the path from a black image to the image."""
    net = _network(estimator)
    x = _inputs(images)
    target = _targets(net, x, target)
    total = torch.zeros_like(x)
    for alpha in (np.arange(steps) + 0.5) / steps:
        total += _gradients(net, x * float(alpha), target)
    return (x * total / steps)[:, 0].numpy()


# A patch's side and the step between patches, in pixels of the 28x28 image
PIXELS = integer(low=1, high=28)


@validates(None, window=PIXELS, stride=PIXELS)
def occlusion(estimator, images: np.ndarray, target=None, window: int = 4, stride: int = 2) -> np.ndarray:
    """The fall in the target's probability when a black ``window`` x ``window`` patch covers the pixel (the
    mean over the patches covering it, ``stride`` pixels apart)."""
    net = _network(estimator)
    x = _inputs(images)
    target = _targets(net, x, target)
    with torch.no_grad():
        base = torch.softmax(net(x), 1).gather(1, target[:, None])[:, 0]
        fall, covered = torch.zeros(x.shape[0], 28, 28), torch.zeros(28, 28)
        for top in range(0, 28 - window + 1, stride):
            for left in range(0, 28 - window + 1, stride):
                hidden = x.clone()
                hidden[:, :, top : top + window, left : left + window] = 0
                drop = base - torch.softmax(net(hidden), 1).gather(1, target[:, None])[:, 0]
                fall[:, top : top + window, left : left + window] += drop[:, None, None]
                covered[top : top + window, left : left + window] += 1
    return (fall / covered.clamp(min=1)).numpy()


@validates(None, method=one_of(*METHODS))
def explain(estimator, images: np.ndarray, method: str = "integrated_gradients", target=None) -> np.ndarray:
    """The ``method`` map (one of :data:`METHODS`) of each image for ``target`` (default: the predicted class;
    an index into ``estimator.classes_``)."""
    return {"saliency": saliency, "integrated_gradients": integrated_gradients, "occlusion": occlusion}[
        method
    ](estimator, images, target)
