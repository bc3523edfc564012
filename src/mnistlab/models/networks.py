"""The PyTorch networks, each registered once, beside its builder: what it is, its training recipe, and the facts
the rest of the library needs about it (dense or convolutional, whether ``width`` applies, memory layout).

Adding a network is one decorated function in this file: the model registry (``mnistlab models``), the
estimator checks and the documentation all read :data:`NETWORKS`. Every network takes float pixels on the 0..255
scale: images (N, 1, 28, 28) for the convolutional ones, and for the dense ones any (N, 1, D) feature rows. Its
first layer is :class:`~mnistlab.models.layers.InputScaling`, fitted on the training data and saved with the
weights.

This module imports PyTorch only inside the builders, so reading the registry (``mnistlab models``) stays fast.

Examples
--------
>>> sorted(name for name, spec in NETWORKS.items() if spec.dense)
['mlp', 'softmax']
>>> NETWORKS["cnn"].convolutional, NETWORKS["cnn"].width_applies
(True, True)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mnistlab.errors import ParameterError, warn_deprecated

if TYPE_CHECKING:
    from torch import nn

IMAGE_FEATURES = 784


@dataclass(frozen=True)
class NetworkSpec:
    """One registered network.

    Attributes
    ----------
    name : str
        The model's registry name (``--model``), also ``TorchClassifier(architecture=...)``.
    description : str
        One line for ``mnistlab models``.
    builder : callable
        ``builder(n_classes, **kwargs) -> nn.Sequential`` with named layers.
    defaults : dict
        The training recipe (``TorchClassifier`` parameters) for digits and data of unknown kind. Its
        ``min_steps`` sizes it to the data: the optimizer steps its ``epochs`` take on the data it was published
        on (MNIST's 60,000 images less the validation split; softmax: the Kaggle tutorial's 42,000 rows), so the
        recipe is unchanged there and trains as many steps on smaller data (at most 100 epochs; dense
        networks 1000).
    objects_recipe : dict
        Changes to ``defaults`` for data of kind "objects" (classes that stay themselves when mirrored,
        e.g. clothes: flips are right there, wrong for digits).
    dense : bool
        Takes any number of input features (rows of D values); otherwise 28x28 images only.
    width_applies : bool
        Accepts ``width`` (hidden units or channels).
    channels_last : bool
        Trains faster in channels-last memory layout (measured per network by the benchmark suite).
    format1_layers : list of str
        Layer names by index, for weights saved by runs of format 1 (empty: the network is newer).
    """

    name: str
    description: str
    builder: Callable[..., nn.Sequential]
    defaults: dict = field(default_factory=dict)
    objects_recipe: dict = field(default_factory=dict)
    dense: bool = False
    width_applies: bool = False
    channels_last: bool = False
    format1_layers: tuple[str, ...] = ()

    @property
    def convolutional(self) -> bool:
        return not self.dense


NETWORKS: dict[str, NetworkSpec] = {}
# Old names that still work everywhere a network name is accepted (runs saved under them load too). They are
# deprecated: naming one to build or train a model warns once per process (:func:`warn_old_name`); reading a run
# saved under one does not (the run cannot be renamed, and its format keeps the name readable).
ALIASES = {"cnn-seed": "cnn-kaggle"}


def network(name: str, description: str, **facts) -> Callable:
    """Register the decorated builder as network ``name`` (keyword arguments: the :class:`NetworkSpec` fields)."""

    def register(builder: Callable[..., nn.Sequential]) -> Callable[..., nn.Sequential]:
        if name in NETWORKS or name in ALIASES:
            raise ValueError(f"network {name!r} is registered twice")
        NETWORKS[name] = NetworkSpec(name, description, builder, **facts)
        return builder

    return register


def canonical(name: str) -> str:
    """The registered name of a network, old names (:data:`ALIASES`) included.

    Examples
    --------
    >>> canonical("cnn-seed"), canonical("cnn")
    ('cnn-kaggle', 'cnn')
    """
    return ALIASES.get(name, name)


def warn_old_name(name: object, *, stacklevel: int = 2) -> None:
    """Warn (a ``DeprecationWarning``, once per process) when ``name`` is an old name of a network.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_old_name("cnn-kaggle")  # today's name: nothing to say
    >>> caught
    []
    """
    if isinstance(name, str) and name in ALIASES:
        warn_deprecated(
            f"the model name {name!r}",
            f"use {ALIASES[name]!r}, the same network (runs saved under the old name load as before)",
            stacklevel=stacklevel + 1,
        )


def get(name: str) -> NetworkSpec:
    """The spec of a network by name or old name; an unknown name lists the known ones."""
    try:
        return NETWORKS[canonical(name)]
    except (KeyError, TypeError):  # TypeError: not a name at all (a list, say)
        raise ParameterError("architecture", name, f"one of {', '.join(NETWORKS)}") from None


def _input_shape(n_features: int) -> tuple[int, ...]:
    # Images stay images (28x28 scaling buffers, as runs have always saved them); other rows are (1, D).
    return (1, 28, 28) if n_features == IMAGE_FEATURES else (1, n_features)


def _named(*layers: tuple[str, nn.Module]) -> nn.Sequential:
    from collections import OrderedDict

    from torch import nn

    return nn.Sequential(OrderedDict(layers))


@network(
    "softmax",
    "softmax regression: min-max scaling, one dense layer (the Kaggle softmax tutorial)",
    defaults=dict(
        input_scaling="minmax",
        optimizer="adam",
        lr=1e-4,
        batch_size=100,
        epochs=50,
        min_steps=13_450,  # its 50 epochs on the Kaggle tutorial's 26,880 training rows (MNIST's 48,000: 24,000)
        validation_split=0.2,
    ),
    dense=True,
    format1_layers=("scaling", "flatten", "logits"),
)
def softmax_regression(n_classes: int, n_features: int = IMAGE_FEATURES) -> nn.Sequential:
    """Softmax regression: one dense layer (the softmax is in the loss)."""
    from torch import nn

    from mnistlab.models.layers import InputScaling

    return _named(
        ("scaling", InputScaling(_input_shape(n_features))),
        ("flatten", nn.Flatten()),
        ("logits", nn.Linear(n_features, n_classes)),
    )


# The tutorials' networks train with mnistlab's recipe (theirs: mlp batch 32, lr 1e-3, no schedule; the Kaggle
# CNN 10 epochs, lr 1e-3): the same few epochs reach higher accuracy in less time (benchmarks/suite.py, keras).
@network(
    "mlp",
    "the Keras tutorial's Flatten -> Dense(128, relu) -> Dense(10); Adam 3e-3, cosine, batch 64",
    defaults=dict(epochs=3, min_steps=2532, batch_size=64, lr=3e-3, schedule="cosine"),
    dense=True,
    width_applies=True,
    format1_layers=("scaling", "flatten", "dense", "relu", "logits"),
)
def mlp(n_classes: int, width: int = 128, n_features: int = IMAGE_FEATURES) -> nn.Sequential:
    """The Keras tutorial's network: Flatten -> Dense(128, relu) -> Dense(n_classes)."""
    from torch import nn

    from mnistlab.models.layers import InputScaling

    return _named(
        ("scaling", InputScaling(_input_shape(n_features))),
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(n_features, width)),
        ("relu", nn.ReLU()),
        ("logits", nn.Linear(width, n_classes)),
    )


# Channels-last is left off: this network's max-pool gradient arrives from Flatten in NCHW and is copied back,
# which made it slower (measured per network, benchmarks/suite.py).
@network(
    "cnn-kaggle",
    "the Kaggle Fashion-MNIST CNN: Conv64 3x3 -> MaxPool -> Dropout .25 -> Dense32 -> Dense10; Adam OneCycle",
    defaults=dict(epochs=4, min_steps=3376, batch_size=64, lr=3e-3, schedule="onecycle"),
    format1_layers=("scaling", "conv", "", "", "dropout", "flatten", "dense", "relu", "logits"),
)
def cnn_kaggle(n_classes: int) -> nn.Sequential:
    """The Kaggle Fashion-MNIST tutorial's network: Conv(64, 3x3, relu) -> MaxPool(2) -> Dropout(0.25) ->
    Dense(32, relu) -> Dense(n_classes)."""
    from torch import nn

    from mnistlab.models.layers import ConvReluPool, FastDropout, InputScaling

    return _named(
        ("scaling", InputScaling()),
        ("conv", ConvReluPool(64)),
        ("dropout", FastDropout(0.25)),
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(64 * 13 * 13, 32)),
        ("relu", nn.ReLU()),
        ("logits", nn.Linear(32, n_classes)),
    )


@network(
    "cnn",
    "mnistlab's CPU-fast net: 3 conv-BN blocks 32-64-128, OneCycle, shift/rotate augmentation",
    defaults=dict(
        epochs=8,
        min_steps=3376,
        batch_size=128,
        optimizer="sgd",
        lr=0.1,
        weight_decay=5e-4,
        schedule="onecycle",
        label_smoothing=0.1,
        augment="shift=2,rotate=8",
    ),
    objects_recipe=dict(epochs=12, min_steps=5064, weight_decay=3e-4, augment="shift=1,flip", tta="flip"),
    width_applies=True,
    channels_last=True,
    format1_layers=(
        "scaling",
        *(f"{layer}{block}" for block in (1, 2, 3) for layer in ("conv", "bn", "relu", "pool")),
        "flatten",
        "dropout",
        "logits",
    ),
)
def cnn(n_classes: int, width: int = 32) -> nn.Sequential:
    """mnistlab's default: three conv-BN-ReLU blocks (w, 2w, 4w channels) each halving the resolution;
    ~7.5 M multiply-adds per image at width 32."""
    from torch import nn

    from mnistlab.models.layers import FastDropout, InputScaling

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


# One epoch to 99% on MNIST, tuned on a validation split of the training data (benchmarks/frontier.py): Adam
# with the fastest public recipe's betas and OneCycle, plus label smoothing (chosen on validation accuracy).
@network(
    "cnn-fast",
    "mnistlab's one-epoch net: Conv16 5x5/2 -> Conv32 3x3 -> MaxPool -> Dense128; Adam OneCycle, 1 epoch",
    defaults=dict(
        epochs=1,
        min_steps=211,
        batch_size=256,
        lr=0.01,
        betas=(0.7, 0.9),
        schedule="onecycle",
        label_smoothing=0.1,
        input_scaling="standard",
    ),
    channels_last=True,
)
def cnn_fast(n_classes: int) -> nn.Sequential:
    """mnistlab's one-epoch net: Conv(16, 5x5, stride 2) -> ReLU -> Conv(32, 3x3) -> MaxPool(2) -> ReLU ->
    Dense(128, relu) -> Dense(n_classes); 0.62 M multiply-adds per image, half of the fastest public MNIST
    recipe's network (tuomaso/train_mnist_fast): the stride-2 first layer replaces its convolution at full
    resolution and max-pool, the largest share of a training step there (torch.profiler; benchmarks/frontier.py).
    """
    from torch import nn

    from mnistlab.models.layers import InputScaling

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


def build(
    architecture: str, n_classes: int, width: int | None = None, n_features: int = IMAGE_FEATURES
) -> nn.Sequential:
    """The network ``architecture`` for ``n_classes``; ``width`` sets the mlp's hidden units or the cnn's channels.

    Examples
    --------
    >>> [name for name, _ in build("mlp", 10).named_children()]
    ['scaling', 'flatten', 'dense', 'relu', 'logits']
    """
    spec = get(architecture)
    if width is not None and not spec.width_applies:
        raise ParameterError(f"width applies to {' and '.join(widened())} only, not {architecture!r}")
    kwargs: dict = {} if width is None else {"width": width}
    if spec.dense:
        kwargs["n_features"] = n_features
    elif n_features != IMAGE_FEATURES:
        raise ParameterError(f"{architecture!r} needs 28x28 images (784 pixels), got {n_features} features")
    return spec.builder(n_classes, **kwargs)


def training_bytes(
    architecture: str, n_classes: int, width: int | None, n_features: int, batch_size: int
) -> int:
    """About how much memory training the network takes: weights, gradients and Adam's two moments (4 copies),
    and every layer's output for a batch twice (kept for the backward pass, and its gradient). Measured on the
    meta device: nothing is allocated, a millisecond or two.

    Examples
    --------
    >>> training_bytes("mlp", 10, None, 784, 128) < 10_000_000
    True
    """
    import torch

    with torch.device("meta"):
        net = build(architecture, n_classes, width, n_features)
        weights = sum(t.numel() * 4 for t in net.state_dict().values())
        activations = [0]
        hooks = [
            m.register_forward_hook(
                lambda _m, _i, out: activations.__setitem__(0, activations[0] + out.numel() * 4)
            )
            for m in net.modules()
            if not list(m.children())
        ]
        net(torch.empty(batch_size, *_input_shape(n_features)))
        for hook in hooks:
            hook.remove()
    return 4 * weights + 2 * activations[0]


def available_memory() -> int:
    """Bytes of memory this machine can give now (``MemAvailable``; all of it where that is unknown)."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits_in_memory(
    architecture: str, n_classes: int, width: int | None, n_features: int, batch_size: int
) -> None:
    """Refuse, before training starts, a network and batch whose training needs more memory than is available."""
    needed, have = training_bytes(architecture, n_classes, width, n_features, batch_size), available_memory()
    if needed > have:
        raise ParameterError(
            f"{architecture} (width={width}, batch_size={batch_size}) needs about {needed / 2**30:.1f} GiB to "
            f"train; this machine has {have / 2**30:.1f} GiB available: choose a smaller width or batch_size"
        )


def widened() -> list[str]:
    """The networks that accept ``width``, sorted."""
    return sorted(name for name, spec in NETWORKS.items() if spec.width_applies)


def is_convolutional(net: nn.Module) -> bool:
    from torch import nn

    return any(isinstance(m, nn.Conv2d) for m in net.modules())


def rename_format1_weights(state: dict, architecture: str) -> dict:
    """Weights of a format-1 run (``"6.weight"``) under today's layer names (``"dense.weight"``).

    Examples
    --------
    >>> sorted(rename_format1_weights({"0.scale": 1, "6.weight": 2}, "cnn-seed"))
    ['dense.weight', 'scaling.scale']
    """
    names = get(architecture).format1_layers
    renamed = {}
    for key, value in state.items():
        index, _, rest = key.partition(".")
        name = names[int(index)] if index.isdigit() and int(index) < len(names) else ""
        renamed[f"{name}.{rest}" if name else key] = value  # unknown keys stay, and strict loading names them
    return renamed
