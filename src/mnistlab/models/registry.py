"""The model registry: every model by name, with a one-line description and its documented defaults.

The PyTorch networks register themselves in ``networks.py`` (one place per network); the scikit-learn models are
listed here. Reading the registry imports neither PyTorch nor scikit-learn: estimators are built on demand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mnistlab.errors import ParameterError, UnknownModelError, unknown_name_message
from mnistlab.models import networks

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A registered model: its factory, documented defaults and the changes for data that are not digits.

    Attributes
    ----------
    name : str
        The name ``create`` and ``--model`` take.
    description : str
        One line for ``mnistlab models``.
    factory : callable
        ``factory(**params) -> estimator``, unfitted.
    defaults : dict
        Parameters for digits and data of unknown kind.
    kind : {"sklearn", "torch"}
        Which library trains it.
    objects_recipe : dict
        Changes to ``defaults`` for data of kind "objects" (flips are right for clothes, wrong for digits).
    """

    name: str
    description: str
    factory: Callable[..., BaseEstimator]
    defaults: dict = field(default_factory=dict)
    kind: str = "sklearn"
    objects_recipe: dict = field(default_factory=dict)

    def recipe_for(self, kind: str | None) -> dict:
        """The defaults for data of this kind (``Dataset.kind``): "objects" adds ``objects_recipe``; digits and
        data of unknown kind get ``defaults`` alone (no flips).

        Examples
        --------
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
    def make(**params) -> BaseEstimator:
        from mnistlab.models.torch_classifier import TorchClassifier

        return TorchClassifier(architecture=architecture, **params)

    return make


def _classic(class_path: str) -> Callable[..., BaseEstimator]:
    """A factory of ``FlattenPixels -> [scaler] -> estimator`` for the scikit-learn class ``module:Name``."""

    def make(scaler: str = "none", **params) -> BaseEstimator:
        from mnistlab.models.classic import pipeline

        module, _, name = class_path.partition(":")
        return pipeline(getattr(importlib.import_module(module), name)(**params), scaler)

    return make


def _network_specs() -> list[ModelSpec]:
    return [
        ModelSpec(
            name=net.name,
            description=net.description,
            factory=_torch(net.name),
            defaults=net.defaults,
            kind="torch",
            objects_recipe=net.objects_recipe,
        )
        for net in networks.NETWORKS.values()
    ]


def _sklearn(name: str, description: str, class_path: str, **defaults) -> ModelSpec:
    return ModelSpec(name=name, description=description, factory=_classic(class_path), defaults=defaults)


# Defaults: the tutorials' set-ups for their models, the Fashion-MNIST benchmark's where it names parameters
# (sources in docs/references.md).
_SKLEARN_SPECS = [
    _sklearn(
        "sgd",
        "SGDClassifier on raw pixels 0..255, random_state=42 (Hands-On ML chapter 3)",
        "sklearn.linear_model:SGDClassifier",
        random_state=42,
    ),
    _sklearn(
        "logreg",
        "LogisticRegression (benchmark: StandardScaler)",
        "sklearn.linear_model:LogisticRegression",
        scaler="standard",
        # lbfgs needs more steps as the data grows: 29 on 500 MNIST images, 132 on 10,000, 332 on 5,000
        # Fashion-MNIST ones; at 200 it stopped short there with scikit-learn's ConvergenceWarning, which a user
        # cannot act on. The limit only ends a fit that has not converged: where 200 sufficed, nothing changes.
        max_iter=1000,
    ),
    _sklearn("linear-svc", "LinearSVC", "sklearn.svm:LinearSVC", scaler="standard", C=0.01),
    _sklearn(
        "svc",
        "SVC rbf, C=10 (benchmark: StandardScaler)",
        "sklearn.svm:SVC",
        scaler="standard",
        C=10,
        kernel="rbf",
    ),
    _sklearn(
        "knn",
        "KNeighbors k=5, p=1, distance weights (benchmark)",
        "sklearn.neighbors:KNeighborsClassifier",
        n_neighbors=5,
        p=1,
        weights="distance",
    ),
    _sklearn(
        "random-forest",
        "RandomForest 100 trees, entropy (benchmark)",
        "sklearn.ensemble:RandomForestClassifier",
        n_estimators=100,
        criterion="entropy",
        random_state=42,
        n_jobs=-1,
    ),
    _sklearn(
        "extra-trees",
        "ExtraTrees 100 trees",
        "sklearn.ensemble:ExtraTreesClassifier",
        n_estimators=100,
        random_state=42,
        n_jobs=-1,
    ),
    _sklearn(
        "hist-gb", "HistGradientBoosting", "sklearn.ensemble:HistGradientBoostingClassifier", random_state=42
    ),
    # The rest of the Fashion-MNIST benchmark's families (benchmarks/fashion_benchmark.toml sweeps them).
    _sklearn(
        "gradient-boosting",
        "GradientBoosting 100 trees of depth 10 (benchmark; slow: hours on 60000 images)",
        "sklearn.ensemble:GradientBoostingClassifier",
        scaler="standard",
        n_estimators=100,
        max_depth=10,
        random_state=42,
    ),
    _sklearn(
        "sklearn-mlp",
        "scikit-learn's MLPClassifier, one hidden layer of 100 relu units (benchmark)",
        "sklearn.neural_network:MLPClassifier",
        scaler="standard",
        hidden_layer_sizes=[100],
        random_state=42,
    ),
    _sklearn(
        "decision-tree",
        "DecisionTree, entropy, depth 10 (benchmark)",
        "sklearn.tree:DecisionTreeClassifier",
        scaler="standard",
        criterion="entropy",
        max_depth=10,
        random_state=42,
    ),
    _sklearn(
        "perceptron",
        "Perceptron (benchmark)",
        "sklearn.linear_model:Perceptron",
        scaler="standard",
        random_state=42,
    ),
    # PassiveAggressiveClassifier is deprecated in scikit-learn 1.8 (removed in 1.10); this is its stated equivalent.
    _sklearn(
        "passive-aggressive",
        "passive-aggressive (PA-I) as SGDClassifier(hinge, no penalty, learning_rate='pa1')",
        "sklearn.linear_model:SGDClassifier",
        scaler="standard",
        loss="hinge",
        penalty=None,
        learning_rate="pa1",
        eta0=1.0,
        random_state=42,
    ),
    _sklearn("naive-bayes", "Gaussian naive Bayes", "sklearn.naive_bayes:GaussianNB"),
    _sklearn(
        "dummy",
        "baseline: always the most frequent class",
        "sklearn.dummy:DummyClassifier",
        strategy="most_frequent",
    ),
    _sklearn(
        "dummy-negative",
        "baseline for binary tasks: never positive (Hands-On ML's 'never 5')",
        "sklearn.dummy:DummyClassifier",
        strategy="constant",
        constant=False,
    ),
]
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in [*_network_specs(), *_SKLEARN_SPECS]}


def _include_new_networks() -> None:
    """Networks registered after this module was imported (a user's own ``@network``) join the registry."""
    for spec in _network_specs():
        REGISTRY.setdefault(spec.name, spec)


ALIASES = dict(networks.ALIASES)  # old names that keep working


def available() -> dict[str, str]:
    """``{name: one-line description}`` of every registered model.

    Examples
    --------
    >>> list(available())[:4]
    ['softmax', 'mlp', 'cnn-kaggle', 'cnn']
    """
    _include_new_networks()
    return {name: spec.description for name, spec in REGISTRY.items()}


def specs() -> dict[str, ModelSpec]:
    """Every registered model's spec by name, in the order ``mnistlab models`` lists them."""
    _include_new_networks()
    return dict(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The registered model ``name`` (an old name gives its successor's spec, and warns once per process).

    Examples
    --------
    >>> get_spec("cnn-kaggle").kind
    'torch'
    """
    networks.warn_old_name(name)  # a name the user gave (a run's recorded name is looked up by today's)
    if name not in REGISTRY:
        _include_new_networks()
    try:
        return REGISTRY[ALIASES.get(name, name)]
    except KeyError:
        raise UnknownModelError(unknown_name_message("model", name, REGISTRY)) from None


def data_kind(data) -> str | None:
    """The kind ("digits", "objects" or None) of a Dataset, a DatasetInfo, or a kind given as a string."""
    return data if data is None or isinstance(data, str) else getattr(data, "kind", None)


def check_flip(params: dict, kind: str | None, force_flip: bool = False) -> None:
    """Horizontal flips turn digits into other shapes: refuse them on digit data unless forced."""
    from mnistlab.training import Augmentation

    augmentation = Augmentation.parse(params.get("augment"))
    flips = (augmentation is not None and augmentation.flip) or params.get("tta") == "flip"
    if flips and kind == "digits" and not force_flip:
        raise ParameterError(
            "horizontal flips turn digits into other shapes; drop 'flip' from augment and tta "
            "or force it (force_flip=True)"
        )


def create(name: str, data=None, *, force_flip: bool = False, **params) -> BaseEstimator:
    """A fresh, unfitted estimator by name: the registered defaults, the recipe for the data, then ``params``.

    Every parameter is checked here, before any data is read.

    Parameters
    ----------
    name : str
        A registered model (:func:`available`); an old name (``cnn-seed``, deprecated: it warns once per
        process) gives its successor.
    data : Dataset or {"digits", "objects"}, optional
        The data (or its kind) the model will train on: ``cnn`` trains longer and with flips on objects.
    force_flip : bool
        Allow horizontal flips on digits (refused by default: a mirrored digit is another shape).
    **params
        Any parameter of the model (``TorchClassifier``'s, or the scikit-learn estimator's and ``scaler``).
        An explicit ``epochs`` is trained as given: the recipe's ``min_steps``, which raises the epochs on small
        data, is dropped unless given too.

    Returns
    -------
    estimator
        A :class:`~mnistlab.models.torch_classifier.TorchClassifier` or a scikit-learn ``Pipeline``.

    Raises
    ------
    UnknownModelError
        For a name that is not registered, listing those that are.
    ParameterError
        For an unknown parameter, a value out of range, or a flip on digits.

    Examples
    --------
    >>> create("sgd").get_params()["model__random_state"]
    42
    >>> create("cnn", epochs=2).epochs
    2
    >>> create("cnn", data="objects").augment
    'shift=1,flip'
    >>> create("cnn-fast").min_steps, create("cnn-fast", epochs=1).min_steps  # explicit epochs: as given
    (211, None)
    """
    networks.warn_old_name(name)
    spec = get_spec(name)
    merged = {**spec.recipe_for(data_kind(data)), **params}
    if "epochs" in params and "min_steps" not in params and "min_steps" in merged:
        merged["min_steps"] = None  # epochs given explicitly are trained as given, on data of any size
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
    from sklearn.utils._param_validation import InvalidParameterError

    if get_spec(name).kind == "torch":
        estimator.validate_params()
        return
    for _, step in estimator.steps:
        try:
            step._validate_params()  # scikit-learn's own constraints (private, but what fit itself calls)
        except InvalidParameterError as exc:
            raise ParameterError(f"{name}: {exc}") from None
        except AttributeError:  # an estimator without scikit-learn's parameter constraints
            pass
