"""The model registry: every model by name, with a one-line description and its documented defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Perceptron, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from mnistlab.errors import ParameterError, UnknownModelError, unknown_name_message
from mnistlab.models.classic import pipeline
from mnistlab.models.torch_classifier import TorchClassifier
from mnistlab.training.augment import Augmentation


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its factory, documented defaults and the changes for data that are not digits."""

    name: str
    description: str
    factory: Callable[..., BaseEstimator]
    defaults: dict = field(default_factory=dict)
    kind: str = "sklearn"  # or "torch"
    # Overrides for data of kind "objects" (flips are right for clothes, wrong for digits).
    objects_recipe: dict = field(default_factory=dict)

    def recipe_for(self, kind: str | None) -> dict:
        """The defaults for data of this kind (``Dataset.kind``): "objects" adds ``objects_recipe``; digits and
        data of unknown kind get ``defaults`` alone (no flips).

        >>> get_spec("cnn").recipe_for("objects")["epochs"], get_spec("cnn").recipe_for("digits")["epochs"]
        (12, 8)
        """
        return {**self.defaults, **self.objects_recipe} if kind == "objects" else dict(self.defaults)

    def parameter_names(self) -> list[str]:
        """The names ``create`` accepts for this model."""
        built = self.factory()
        if self.kind == "torch":  # the architecture is the model's name itself
            return sorted(set(built.get_params(deep=False)) - {"architecture"})
        return sorted(["scaler", *built[-1].get_params(deep=False)])


def _torch(architecture: str) -> Callable[..., BaseEstimator]:
    return lambda **params: TorchClassifier(architecture=architecture, **params)


def _classic(estimator_class: type) -> Callable[..., BaseEstimator]:
    def make(scaler: str = "none", **params) -> BaseEstimator:
        return pipeline(estimator_class(**params), scaler)

    return make


# Defaults: the tutorials' set-ups for their models, the Fashion-MNIST benchmark's where it names parameters
# (sources in docs/references.md).
_SPECS = [
    ModelSpec(
        "softmax",
        "softmax regression: min-max scaling, one dense layer (the Kaggle softmax tutorial)",
        _torch("softmax"),
        dict(
            input_scaling="minmax", optimizer="adam", lr=1e-4, batch_size=100, epochs=50, validation_split=0.2
        ),
        "torch",
    ),
    # The tutorials' networks train with mnistlab's recipe (theirs: mlp batch 32, lr 1e-3, no schedule; cnn-seed
    # 10 epochs, lr 1e-3): the same 3 epochs reach higher accuracy in less time (benchmarks/suite.py, keras).
    ModelSpec(
        "mlp",
        "the Keras tutorial's Flatten -> Dense(128, relu) -> Dense(10); Adam 3e-3, cosine, batch 64",
        _torch("mlp"),
        dict(epochs=3, batch_size=64, lr=3e-3, schedule="cosine"),
        "torch",
    ),
    ModelSpec(
        "cnn-seed",
        "the Kaggle Fashion-MNIST CNN: Conv64 3x3 -> MaxPool -> Dropout .25 -> Dense32 -> Dense10; Adam OneCycle",
        _torch("cnn-seed"),
        dict(epochs=4, batch_size=64, lr=3e-3, schedule="onecycle"),
        "torch",
    ),
    ModelSpec(
        "cnn",
        "mnistlab's CPU-fast net: 3 conv-BN blocks 32-64-128, OneCycle, shift/rotate augmentation",
        _torch("cnn"),
        dict(
            epochs=8,
            batch_size=128,
            optimizer="sgd",
            lr=0.1,
            weight_decay=5e-4,
            schedule="onecycle",
            label_smoothing=0.1,
            augment="shift=2,rotate=8",
        ),
        "torch",
        objects_recipe=dict(epochs=12, weight_decay=3e-4, augment="shift=1,flip", tta="flip"),
    ),
    # One epoch to 99% on MNIST, tuned on a validation split of the training data (benchmarks/frontier.py): Adam
    # with the fastest public recipe's betas and OneCycle, plus label smoothing (+0.2 points of validation accuracy
    # at no cost, median of 3 seeds).
    ModelSpec(
        "cnn-fast",
        "mnistlab's one-epoch net: Conv16 5x5/2 -> Conv32 3x3 -> MaxPool -> Dense128; Adam OneCycle, 1 epoch",
        _torch("cnn-fast"),
        dict(
            epochs=1,
            batch_size=256,
            lr=0.01,
            betas=(0.7, 0.9),
            schedule="onecycle",
            label_smoothing=0.1,
            input_scaling="standard",
        ),
        "torch",
    ),
    ModelSpec(
        "sgd",
        "SGDClassifier on raw pixels 0..255, random_state=42 (Hands-On ML chapter 3)",
        _classic(SGDClassifier),
        dict(random_state=42),
    ),
    ModelSpec(
        "logreg",
        "LogisticRegression (benchmark: StandardScaler)",
        _classic(LogisticRegression),
        dict(scaler="standard", max_iter=200),
    ),
    ModelSpec("linear-svc", "LinearSVC", _classic(LinearSVC), dict(scaler="standard", C=0.01)),
    ModelSpec(
        "svc",
        "SVC rbf, C=10 (benchmark: StandardScaler)",
        _classic(SVC),
        dict(scaler="standard", C=10, kernel="rbf"),
    ),
    ModelSpec(
        "knn",
        "KNeighbors k=5, p=1, distance weights (benchmark)",
        _classic(KNeighborsClassifier),
        dict(n_neighbors=5, p=1, weights="distance"),
    ),
    ModelSpec(
        "random-forest",
        "RandomForest 100 trees, entropy (benchmark)",
        _classic(RandomForestClassifier),
        dict(n_estimators=100, criterion="entropy", random_state=42, n_jobs=-1),
    ),
    ModelSpec(
        "extra-trees",
        "ExtraTrees 100 trees",
        _classic(ExtraTreesClassifier),
        dict(n_estimators=100, random_state=42, n_jobs=-1),
    ),
    ModelSpec(
        "hist-gb", "HistGradientBoosting", _classic(HistGradientBoostingClassifier), dict(random_state=42)
    ),
    # The rest of the Fashion-MNIST benchmark's families (benchmarks/fashion_benchmark.toml sweeps them).
    ModelSpec(
        "gradient-boosting",
        "GradientBoosting 100 trees of depth 10 (benchmark; slow: hours on 60000 images)",
        _classic(GradientBoostingClassifier),
        dict(scaler="standard", n_estimators=100, max_depth=10, random_state=42),
    ),
    ModelSpec(
        "sklearn-mlp",
        "scikit-learn's MLPClassifier, one hidden layer of 100 relu units (benchmark)",
        _classic(MLPClassifier),
        dict(scaler="standard", hidden_layer_sizes=[100], random_state=42),
    ),
    ModelSpec(
        "decision-tree",
        "DecisionTree, entropy, depth 10 (benchmark)",
        _classic(DecisionTreeClassifier),
        dict(scaler="standard", criterion="entropy", max_depth=10, random_state=42),
    ),
    ModelSpec(
        "perceptron", "Perceptron (benchmark)", _classic(Perceptron), dict(scaler="standard", random_state=42)
    ),
    # PassiveAggressiveClassifier is deprecated in scikit-learn 1.8 (removed in 1.10); this is its stated equivalent.
    ModelSpec(
        "passive-aggressive",
        "passive-aggressive (PA-I) as SGDClassifier(hinge, no penalty, learning_rate='pa1')",
        _classic(SGDClassifier),
        dict(scaler="standard", loss="hinge", penalty=None, learning_rate="pa1", eta0=1.0, random_state=42),
    ),
    ModelSpec("naive-bayes", "Gaussian naive Bayes", _classic(GaussianNB)),
    ModelSpec(
        "dummy",
        "baseline: always the most frequent class",
        _classic(DummyClassifier),
        dict(strategy="most_frequent"),
    ),
    ModelSpec(
        "dummy-negative",
        "baseline for binary tasks: never positive (Hands-On ML's 'never 5')",
        _classic(DummyClassifier),
        dict(strategy="constant", constant=False),
    ),
]
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def available() -> dict[str, str]:
    """``{name: one-line description}`` of every registered model.

    >>> list(available())[:4]
    ['softmax', 'mlp', 'cnn-seed', 'cnn']
    """
    return {name: spec.description for name, spec in REGISTRY.items()}


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(unknown_name_message("model", name, REGISTRY)) from None


def data_kind(data) -> str | None:
    """The kind ("digits", "objects" or None) of a Dataset, a DatasetInfo, or a kind given as a string."""
    return data if data is None or isinstance(data, str) else getattr(data, "kind", None)


def check_flip(params: dict, kind: str | None, force_flip: bool = False) -> None:
    """Horizontal flips turn digits into other shapes: refuse them on digit data unless forced."""
    augmentation = Augmentation.parse(params.get("augment"))
    flips = (augmentation is not None and augmentation.flip) or params.get("tta") == "flip"
    if flips and kind == "digits" and not force_flip:
        raise ParameterError(
            "horizontal flips turn digits into other shapes; drop 'flip' from augment and tta "
            "or force it (force_flip=True, --force-flip)"
        )


def create(name: str, data=None, *, force_flip: bool = False, **params) -> BaseEstimator:
    """A fresh, unfitted estimator by name: the registered defaults, the recipe for ``data`` (a Dataset, or
    its kind "digits"/"objects"), then ``params``. Every parameter is checked before anything is trained.

    >>> create("sgd").get_params()["model__random_state"]
    42
    >>> create("cnn", epochs=2).epochs
    2
    >>> create("cnn", data="objects").augment
    'shift=1,flip'
    """
    spec = get_spec(name)
    merged = {**spec.recipe_for(data_kind(data)), **params}
    unknown = sorted(set(params) - set(spec.parameter_names()))
    if unknown:
        raise ParameterError(
            f"model {name!r} has no parameter {unknown[0]!r}; its parameters: {', '.join(spec.parameter_names())}"
        )
    check_flip(merged, data_kind(data), force_flip)
    estimator = spec.factory(**merged)
    _validate(name, estimator)
    return estimator


def _validate(name: str, estimator: BaseEstimator) -> None:
    """Check parameter values now, not minutes into loading data: ours by our rules, scikit-learn's by its own."""
    if isinstance(estimator, TorchClassifier):
        estimator.validate_params()
        return
    for _, step in estimator.steps:
        try:
            step._validate_params()  # scikit-learn's own constraints (private, but what fit itself calls)
        except InvalidParameterError as exc:
            raise ParameterError(f"{name}: {exc}") from None
        except AttributeError:  # an estimator without scikit-learn's parameter constraints
            pass
