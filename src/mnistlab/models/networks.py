"""PyTorch network architectures by name, with named layers (``net.conv``, ``net.dense``, ``net.logits``).

Every network takes float pixels on the 0..255 scale: images (N, 1, 28, 28) for the convolutional ones, and for
the dense ones (``softmax``, ``mlp``) any (N, 1, D) feature rows. Its first layer is :class:`InputScaling`, whose
buffers are fitted on the training data and saved with the weights, so a saved network needs no separate
preprocessing step. The CPU-fast layers some of them use live in ``fast_layers.py``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from mnistlab.errors import ParameterError
from mnistlab.models.fast_layers import ConvReluPool, FastDropout

IMAGE_FEATURES = 784
INPUT_SCALINGS = ("unit", "minmax", "standard")


class InputScaling(nn.Module):
    """``(x - offset) * scale`` per input value; ``unit`` divides by 255, ``minmax``/``standard`` are fitted."""

    def __init__(self, shape: tuple[int, ...] = (1, 28, 28)) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(1, *shape))
        self.register_buffer("scale", torch.full((1, *shape), 1 / 255))

    def fit(self, x: torch.Tensor, method: str) -> None:
        """Fit on training inputs (N, *shape): ``unit`` (/255), ``minmax`` (per value) or ``standard``."""
        if method == "unit":
            offset, scale = torch.zeros_like(self.offset), torch.full_like(self.scale, 1 / 255)
        elif method == "minmax":  # scikit-learn's MinMaxScaler: constant inputs map to 0
            low, high = x.amin(0, keepdim=True).float(), x.amax(0, keepdim=True).float()
            offset, scale = low, 1 / torch.where(high > low, high - low, torch.ones_like(high))
        elif method == "standard":  # one mean and std for all pixels keeps the image's spatial structure
            xf = x.float()
            offset = torch.full_like(self.offset, xf.mean().item())
            scale = torch.full_like(self.scale, 1 / max(xf.std().item(), 1e-6))
        else:
            raise ParameterError(f"input_scaling={method!r}; expected one of {', '.join(INPUT_SCALINGS)}")
        self.offset.copy_(offset)
        self.scale.copy_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.offset) * self.scale


def _input_shape(n_features: int) -> tuple[int, ...]:
    # Images stay images (28x28 scaling buffers, as runs have always saved them); other rows are (1, D).
    return (1, 28, 28) if n_features == IMAGE_FEATURES else (1, n_features)


def _named(*layers: tuple[str, nn.Module]) -> nn.Sequential:
    return nn.Sequential(OrderedDict(layers))


def softmax_regression(n_classes: int, n_features: int = IMAGE_FEATURES) -> nn.Sequential:
    """Softmax regression: one dense layer (the softmax is in the loss)."""
    return _named(
        ("scaling", InputScaling(_input_shape(n_features))),
        ("flatten", nn.Flatten()),
        ("logits", nn.Linear(n_features, n_classes)),
    )


def mlp(n_classes: int, width: int = 128, n_features: int = IMAGE_FEATURES) -> nn.Sequential:
    """The Keras tutorial's network: Flatten -> Dense(128, relu) -> Dense(n_classes)."""
    return _named(
        ("scaling", InputScaling(_input_shape(n_features))),
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(n_features, width)),
        ("relu", nn.ReLU()),
        ("logits", nn.Linear(width, n_classes)),
    )


def cnn_seed(n_classes: int) -> nn.Sequential:
    """The Kaggle Fashion-MNIST tutorial's network: Conv(64, 3x3, relu) -> MaxPool(2) -> Dropout(0.25) ->
    Dense(32, relu) -> Dense(n_classes)."""
    return _named(
        ("scaling", InputScaling()),
        ("conv", ConvReluPool(64)),
        ("dropout", FastDropout(0.25)),
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(64 * 13 * 13, 32)),
        ("relu", nn.ReLU()),
        ("logits", nn.Linear(32, n_classes)),
    )


def cnn(n_classes: int, width: int = 32) -> nn.Sequential:
    """mnistlab's default: three conv-BN-ReLU blocks (w, 2w, 4w channels) each halving the resolution.

    ~7.5 M multiply-adds per image at width 32; chosen by measurement on a 2-core CPU (see the benchmark suite).
    """
    layers: list[tuple[str, nn.Module]] = [("scaling", InputScaling())]
    for block, (c_in, c_out) in enumerate([(1, width), (width, 2 * width), (2 * width, 4 * width)], start=1):
        layers += [
            (f"conv{block}", nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)),
            (f"bn{block}", nn.BatchNorm2d(c_out)),
            (f"relu{block}", nn.ReLU(inplace=True)),
            (f"pool{block}", nn.MaxPool2d(2)),
        ]
    layers += [
        ("flatten", nn.Flatten()),
        ("dropout", FastDropout(0.1)),
        ("logits", nn.Linear(4 * width * 9, n_classes)),
    ]
    return _named(*layers)


def cnn_fast(n_classes: int) -> nn.Sequential:
    """mnistlab's one-epoch net: Conv(16, 5x5, stride 2) -> ReLU -> Conv(32, 3x3) -> MaxPool(2) -> ReLU ->
    Dense(128, relu) -> Dense(n_classes); 0.62 M multiply-adds per image, half of the fastest public MNIST
    recipe's network (tuomaso/train_mnist_fast): the stride-2 first layer replaces its convolution at full
    resolution and max-pool, which took over half of a training step there (torch.profiler; benchmarks/frontier.py).
    """
    return _named(
        ("scaling", InputScaling()),
        ("conv1", nn.Conv2d(1, 16, 5, stride=2)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(16, 32, 3)),
        ("pool2", nn.MaxPool2d(2)),
        ("relu2", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(32 * 5 * 5, 128)),
        ("relu", nn.ReLU()),
        ("logits", nn.Linear(128, n_classes)),
    )


ARCHITECTURES: dict[str, Callable[..., nn.Sequential]] = {
    "softmax": softmax_regression,
    "mlp": mlp,
    "cnn-seed": cnn_seed,
    "cnn": cnn,
    "cnn-fast": cnn_fast,
}
DENSE = {"softmax", "mlp"}  # take any number of input features; the others need 28x28 images
WIDTH_APPLIES = {"mlp", "cnn"}


def build(
    architecture: str, n_classes: int, width: int | None = None, n_features: int = IMAGE_FEATURES
) -> nn.Sequential:
    """The network ``architecture`` for ``n_classes``; ``width`` sets the mlp's hidden units or the cnn's channels.

    >>> [name for name, _ in build("mlp", 10).named_children()]
    ['scaling', 'flatten', 'dense', 'relu', 'logits']
    """
    if architecture not in ARCHITECTURES:
        raise ParameterError(f"architecture={architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    if width is not None and architecture not in WIDTH_APPLIES:
        raise ParameterError(f"width applies to mlp and cnn only, not {architecture!r}")
    kwargs: dict = {} if width is None else {"width": width}
    if architecture in DENSE:
        kwargs["n_features"] = n_features
    elif n_features != IMAGE_FEATURES:
        raise ParameterError(f"{architecture!r} needs 28x28 images (784 pixels), got {n_features} features")
    return ARCHITECTURES[architecture](n_classes, **kwargs)


def is_convolutional(net: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in net.modules())


# Measured per architecture on a 2-core CPU (one epoch of 20000 images, bf16): channels-last makes ``cnn`` 1.5x
# faster, but ``cnn-seed`` 1.3x slower (its max-pool gradient arrives from Flatten in NCHW and is copied back).
CHANNELS_LAST = {"cnn", "cnn-fast"}


def prefers_channels_last(architecture: str) -> bool:
    return architecture in CHANNELS_LAST


# Runs of format 1 saved their weights under layer indices; these are the layer names of those indices.
_FORMAT1_LAYERS = {
    "softmax": ["scaling", "flatten", "logits"],
    "mlp": ["scaling", "flatten", "dense", "relu", "logits"],
    "cnn-seed": ["scaling", "conv", "", "", "dropout", "flatten", "dense", "relu", "logits"],
    "cnn": ["scaling"]
    + [f"{layer}{block}" for block in (1, 2, 3) for layer in ("conv", "bn", "relu", "pool")]
    + ["flatten", "dropout", "logits"],
}


def rename_format1_weights(state: dict[str, torch.Tensor], architecture: str) -> dict[str, torch.Tensor]:
    """Weights of a format-1 run (``"6.weight"``) under today's layer names (``"dense.weight"``).

    >>> sorted(rename_format1_weights({"0.scale": 1, "6.weight": 2}, "cnn-seed"))
    ['dense.weight', 'scaling.scale']
    """
    names = _FORMAT1_LAYERS[architecture]
    renamed = {}
    for key, value in state.items():
        index, _, rest = key.partition(".")
        name = names[int(index)] if index.isdigit() and int(index) < len(names) else ""
        renamed[f"{name}.{rest}" if name else key] = value  # unknown keys stay, and strict loading names them
    return renamed
