"""A PyTorch network behind scikit-learn's classifier contract (fit, predict, predict_proba, get_params, ...).

What it takes as input: :mod:`mnistlab.models.inputs`; how it trains: :mod:`mnistlab.training`.
"""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from mnistlab.errors import DataFormatError, ParameterError, shown
from mnistlab.models import networks
from mnistlab.models.calibration import (
    DEFAULT_METHOD,
    ConformalCalibration,
    check_alpha,
    check_method,
    fit_temperature,
    prediction_sets,
)
from mnistlab.models.inputs import as_model_input, check_network_input, checked_rows
from mnistlab.models.precision import execution_plan
from mnistlab.models.torch_rules import PARAMETER_RULES
from mnistlab.params import check_params
from mnistlab.training import (
    Augmentation,
    EpochScore,
    StreamedRows,
    TrainConfig,
    distributed,
    evaluate,
    planned_epochs,
    resolve_device,
    torch_threads,
    train,
)

# a streamed training's validation sample (in memory), and the images predicted at once from shards
MAX_STREAMED_VALIDATION = 10_000
STREAMED_CHUNK = 10_000
SCALING_SAMPLE = 2_000  # images whose pixels set a streamed training's input scaling
IMAGE_FEATURES = networks.IMAGE_FEATURES


def _monitor_callbacks(monitor_data: tuple | None) -> list:
    """The deprecated ``fit(monitor_data=...)`` as the callback that replaced it (warning once per fit)."""
    if monitor_data is None:
        return []
    # FutureWarning, not DeprecationWarning: the caller is user code, where Python hides DeprecationWarning
    warnings.warn(
        "fit(monitor_data=(X, y)) is deprecated and will be removed: pass "
        "callbacks=[mnistlab.training.EpochScore('monitor', X, y)] to the model instead (the same history)",
        FutureWarning,
        stacklevel=3,
    )
    return [EpochScore("monitor", *monitor_data)]


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A PyTorch image classifier with the scikit-learn estimator API.

    Every hyper-parameter is a constructor argument, so ``clone``, ``GridSearchCV``, ``cross_val_score``,
    ``OneVsRestClassifier`` and ``Pipeline`` work as with any scikit-learn model. After ``fit``:
    ``classes_``, ``n_features_in_``, ``history_`` (one dict per epoch), ``step_history_`` (one per optimizer
    step), ``network_`` (the ``torch.nn.Module``), what was trained: ``epochs_``, ``steps_``, and what training
    ran in: ``precision_``, ``channels_last_``, ``threads_``.

    ``min_steps`` sizes the training to the data: the epochs rise on small data until that many optimizer steps
    are taken (at most 100 epochs; 1000 for the dense networks, whose steps are cheap), so a recipe tuned on 60,000 images also trains on 500. Every registered
    network's recipe states it (``models.create``), at most the steps its ``epochs`` take on MNIST's 54,000
    training images, where the recipe is unchanged; an explicit ``epochs`` given to ``create`` is kept as given.
    How many epochs and steps a fit resolved is in ``epochs_`` and ``steps_``.
    A fit of fewer than 100 optimizer steps warns, naming the fix.

    ``precision="auto"`` trains a convolutional network in the precision, memory layout and thread count its
    training step measured fastest on this machine (timed once, cached; ``mnistlab doctor`` shows the choice);
    ``"fp32"`` or ``"bf16"`` is honoured as given, and ``threads`` given always wins.

    Parameters
    ----------
    architecture : str
        A registered network: ``"softmax"``, ``"mlp"``, ``"cnn-kaggle"``, ``"cnn"``, ``"cnn-fast"``.
        ``models.create(name, data)`` adds the network's recipe for the data's kind; this class takes the
        parameters as given.
    width : int, optional
        Hidden units of ``mlp``, channels of ``cnn``; ``None``: the network's own.
    epochs : int
        Passes over the training data (at least; see ``min_steps``).
    min_steps : int, optional
        The fewest optimizer steps to train: on data too small for ``epochs`` to reach them, more epochs are
        trained (``epochs_`` says how many). ``None``: ``epochs`` exactly.
    batch_size : int
        Images per optimiser step.
    optimizer : {"adam", "adamw", "sgd", "adadelta"}
        The optimiser (SGD with Nesterov momentum 0.9).
    lr : float
        Learning rate; the peak rate under ``schedule="onecycle"``.
    betas : tuple of float, optional
        Adam's betas; given, they stay fixed under OneCycle (which otherwise cycles beta1).
    weight_decay : float
        L2 penalty (decoupled for ``adamw``).
    schedule : {"none", "onecycle", "cosine", "step"}
        Learning-rate schedule over the whole training.
    label_smoothing : float
        Share of each target spread over the other classes, in [0, 1).
    input_scaling : {"unit", "minmax", "standard"}
        How pixels on the 0..255 scale are scaled inside the network (it travels with the weights).
    augment : str, optional
        Batch augmentation, e.g. ``"shift=2,rotate=10,shear=0.1,zoom=0.1,flip,erase=0.5,brightness=0.5"``;
        ``flip`` is refused for digits unless forced through ``models.create(..., force_flip=True)``.
    validation_split : float
        Share of the training data held out (stratified) for the learning curves, early stopping, the
        temperature and the conformal scores; 0: none.
    early_stopping : int, optional
        Patience in epochs on the validation loss; the best weights are restored.
    precision : {"auto", "fp32", "bf16"}
        Training precision (see above).
    tta : {"flip"}, optional
        Test-time augmentation: average the logits of each image and its mirror image.
    calibration : {"temperature", "none"}
        Fit a temperature on the validation split after training (used by ``predict_proba``).
    seed : int
        Seed of the weights, the batches, the augmentation and the hold-out: the same seed gives the same
        history.
    device : {"auto", "cpu", "cuda"}
        ``"auto"``: CUDA where PyTorch sees it (never verified), else the CPU.
    threads : int, optional
        PyTorch CPU threads; ``None``: the measured choice or PyTorch's default.
    verbose : int
        1 prints one line per epoch.
    checkpoint : str or Path, optional
        A file the training's whole state is written to after every epoch (atomically); a ``fit`` that finds
        one of the same training (data, network, parameters) continues from it, so a job killed part-way (or
        restarted by ``torchrun --max-restarts``) loses at most the epoch it was in. One of another training is
        refused. Under ``torchrun`` the rank-0 process writes it. Not saved with a run.
    callbacks : list of mnistlab.training.Callback, optional
        Run in every ``fit`` around the standard ones (:mod:`mnistlab.training.callbacks`), e.g.
        ``EpochScore("test", X_test, y_test)`` to measure test data after each epoch without steering anything;
        a constructor parameter, as skorch's, so ``clone`` and searches keep them. They are not saved in a run.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen by ``fit``.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
        ``lr``, ``seconds``.
    step_history_ : list of dict
        One dict per optimizer step: ``step``, ``epoch``, ``train_loss`` (of that batch), ``lr``.
    epochs_ : int
        The epochs the schedule was set for (``epochs``, or more for ``min_steps``); early stopping or Ctrl-C
        may end training sooner (``len(history_)``).
    steps_ : int
        The optimizer steps taken.
    network_ : torch.nn.Module
        The trained network.
    temperature_ : float
        The fitted temperature (1.0 without calibration).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    >>> y = (X[:, :, :14].mean((1, 2)) > X[:, :, 14:].mean((1, 2))).astype(int)  # brighter on the left?
    >>> clf = TorchClassifier("mlp", epochs=30, batch_size=16, threads=1).fit(X, y)
    >>> clf.score(X, y) > 0.9, clf.predict_proba(X[:2]).shape
    (True, (2, 2))
    """

    _parameter_constraints = PARAMETER_RULES

    def __init__(
        self,
        architecture: str = "cnn",
        width: int | None = None,
        epochs: int = 10,
        min_steps: int | None = None,
        batch_size: int = 128,
        optimizer: str = "adam",
        lr: float = 1e-3,
        betas: tuple[float, float] | None = None,
        weight_decay: float = 0.0,
        schedule: str = "none",
        label_smoothing: float = 0.0,
        input_scaling: str = "unit",
        augment: str | None = None,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        precision: str = "auto",
        tta: str | None = None,
        calibration: str = "temperature",
        seed: int = 0,
        device: str = "auto",
        threads: int | None = None,
        verbose: int = 0,
        checkpoint: str | None = None,
        callbacks: list | None = None,
    ) -> None:
        self.architecture = architecture
        self.width = width
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.betas = betas
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.label_smoothing = label_smoothing
        self.input_scaling = input_scaling
        self.augment = augment
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.precision = precision
        self.tta = tta
        self.calibration = calibration
        self.seed = seed
        self.device = device
        self.threads = threads
        self.verbose = verbose
        self.checkpoint = checkpoint
        self.callbacks = callbacks

    def set_params(self, **params) -> TorchClassifier:
        """scikit-learn's ``set_params``; ``epochs`` set without ``min_steps`` is trained exactly, as
        ``models.create(name, epochs=N)`` trains it (a search over epochs must not be resized by the recipe's
        steps into the same schedule).

        Examples
        --------
        >>> TorchClassifier(epochs=1, min_steps=200).set_params(epochs=3).min_steps is None
        True
        """
        if "epochs" in params and "min_steps" not in params:
            params["min_steps"] = None
        return super().set_params(**params)

    def validate_params(self) -> None:
        """Refuse a bad hyper-parameter value up front, naming it (``fit`` calls this first)."""
        check_params(
            f"TorchClassifier({shown(self.architecture)})", self.get_params(), self._parameter_constraints
        )
        if self.width is not None and not networks.get(self.architecture).width_applies:
            raise ParameterError(
                f"width applies to {' and '.join(networks.widened())} only, not {self.architecture!r}"
            )

    def _config(
        self, device: torch.device, convolutional: bool, epochs: int | None = None
    ) -> tuple[TrainConfig, int | None]:
        """The training's configuration and threads, as :func:`~.precision.execution_plan` plans them here."""
        plan = execution_plan(self.architecture, self.precision, self.threads, device.type, convolutional)
        bf16, channels_last, threads = plan
        config = TrainConfig(
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            betas=None if self.betas is None else tuple(self.betas),
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            label_smoothing=self.label_smoothing,
            augment=Augmentation.parse(self.augment),
            early_stopping=self.early_stopping,
            seed=self.seed,
            bf16=bf16,
            channels_last=channels_last,
            verbose=self.verbose,
            checkpoint=None if self.checkpoint is None else str(self.checkpoint),
        )
        group = distributed.launched()
        if group is not None and self.threads is None and device.type == "cpu":
            # the processes on one machine share its cores: one thread each of a 2-process job on 2 cores
            threads = max(1, (os.cpu_count() or 1) // group.local_world_size)
        return config, threads

    def _rows(self, X, y=None, reset: bool = False, with_y: bool = False):
        return checked_rows(self, X, y, reset, with_y)  # the input contract (mnistlab.models.inputs)

    def fit(
        self, X, y, validation_data: tuple | None = None, monitor_data: tuple | None = None
    ) -> TorchClassifier:
        """Train from scratch (Ctrl-C or SIGTERM stops after the current batch, keeping the best weights).

        Parameters
        ----------
        X : array-like of shape (N, 28, 28) or (N, D)
            Images or feature rows, pixels on the 0..255 scale (uint8 is always accepted; rows on the 0..1
            scale are refused, naming the fix). The convolutional networks need 28x28 images.
        y : array-like of shape (N,)
            Labels, at least two classes.
        validation_data : tuple of (X_val, y_val), optional
            Validation data to use instead of holding out ``validation_split`` of ``X``.
        monitor_data : tuple of (X, y), optional
            Deprecated (a FutureWarning): ``callbacks=[EpochScore("monitor", X, y)]`` measures the same
            ``monitor_loss`` and ``monitor_accuracy`` after each epoch, steering nothing.

        Returns
        -------
        TorchClassifier
            The fitted estimator itself.

        Examples
        --------
        >>> X = np.random.default_rng(0).integers(0, 256, (100, 28, 28), dtype=np.uint8)
        >>> y = np.arange(100) % 2
        >>> clf = TorchClassifier("softmax", epochs=2, validation_split=0.2, threads=1).fit(X, y)
        >>> len(clf.history_), sorted(clf.history_[-1])
        (2, ['epoch', 'lr', 'seconds', 'train_accuracy', 'train_loss', 'val_accuracy', 'val_loss'])
        """
        networks.warn_old_name(
            self.architecture
        )  # training under an old name (loading a run under one: quiet)
        self.validate_params()
        if getattr(X, "is_streamed", False):  # images on disk, read shard by shard
            return self._fit_streamed(X, y, validation_data)
        X, y = self._rows(X, y, reset=True, with_y=True)
        check_classification_targets(y)
        n_features = X.shape[1]
        check_network_input(self.architecture, n_features, self.augment, self.tta)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise DataFormatError(
                f"need at least two classes to train a classifier; got 1 class: {self.classes_[0]}"
            )
        networks.check_fits_in_memory(  # before any allocation: a width of 4096 at batch 1024 is ~300 GiB
            self.architecture, len(self.classes_), self.width, n_features, min(self.batch_size, len(X))
        )
        targets = np.searchsorted(self.classes_, y)
        inputs = as_model_input(X)
        if validation_data is None and self.validation_split:
            inputs, val_inputs, targets, val_targets = train_test_split(
                inputs, targets, test_size=self.validation_split, random_state=self.seed, stratify=targets
            )
            validation_data = (val_inputs.reshape(len(val_inputs), -1), self.classes_[val_targets])
        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        net = networks.build(self.architecture, len(self.classes_), self.width, n_features).to(device)
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(device)
        net.scaling.fit(x.unsqueeze(1), self.input_scaling)
        callbacks = [*(self.callbacks or ()), *_monitor_callbacks(monitor_data)]
        self._train(net, x, torch.from_numpy(targets).to(device), device, validation_data, callbacks)
        return self

    def _train(self, net, x, y_train: torch.Tensor, device, validation_data: tuple | None, callbacks) -> None:
        """Train ``net`` on ``x`` (a tensor of images, or rows streamed from shards) with the recipe's epochs,
        then keep the fitted attributes and calibrate on the validation data."""
        spec = networks.get(self.architecture)
        recipe = spec.defaults.get("min_steps"), spec.dense
        epochs = planned_epochs(
            self.architecture, len(x), self.batch_size, self.epochs, self.min_steps, *recipe
        )
        cfg, threads = self._config(device, networks.is_convolutional(net), epochs)
        validation = (
            None if validation_data is None else self._checked_tensors(*validation_data, device=device)
        )
        with torch_threads(threads):
            tensors = functools.partial(self._checked_tensors, device=device)  # for the callbacks' data
            result = train(net, x, y_train, cfg, validation, callbacks, tensors)
            self.threads_ = torch.get_num_threads()
        self.network_, self.history_, self.step_history_ = net, result.history, result.steps
        self.epochs_, self.steps_ = epochs, len(result.steps)
        # what training ran in (recorded in the run)
        self.precision_, self.channels_last_ = ("bf16" if cfg.bf16 else "fp32"), cfg.channels_last
        self._weights_channels_last = cfg.channels_last  # train() put the weights in this layout
        self.best_epoch_, self.interrupted_ = result.best_epoch, result.interrupted
        self._calibrate(validation_data)

    def _fit_streamed(self, X, y, validation_data: tuple | None) -> TorchClassifier:
        """``fit`` on images that stay on disk (:class:`~mnistlab.datasets.shards.ShardedImages`): the training
        rows are read shard by shard (:mod:`mnistlab.training.streaming`), so memory is bounded by the shards;
        the validation split is a seeded sample of at most :data:`MAX_STREAMED_VALIDATION` images, in memory."""
        y = np.asarray(y)
        check_classification_targets(y)
        if len(y) != len(X):
            raise DataFormatError(f"{len(X)} images but {len(y)} labels")
        check_network_input(self.architecture, IMAGE_FEATURES, self.augment, self.tta)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise DataFormatError(
                f"need at least two classes to train a classifier; got {self.classes_.tolist()}"
            )
        networks.check_fits_in_memory(
            self.architecture, len(self.classes_), self.width, IMAGE_FEATURES, min(self.batch_size, len(y))
        )
        self.n_features_in_ = IMAGE_FEATURES
        targets = np.searchsorted(self.classes_, y)
        keep = np.ones(len(y), dtype=bool)
        if validation_data is None and self.validation_split:
            held = min(max(1, round(self.validation_split * len(y))), MAX_STREAMED_VALIDATION)
            chosen = np.sort(np.random.default_rng(self.seed).choice(len(y), held, replace=False))
            keep[chosen] = False
            validation_data = (X[chosen], self.classes_[targets[chosen]])
        # a view of some rows (a cross-validation fold): the other rows of the split are never trained on
        positions = X.positions()
        split_targets = np.zeros(len(X.split), dtype=targets.dtype)
        split_targets[positions] = targets
        split_keep = np.zeros(len(X.split), dtype=bool)
        split_keep[positions[keep]] = True
        rows = StreamedRows(X.whole(), split_targets, split_keep)
        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        net = networks.build(self.architecture, len(self.classes_), self.width, IMAGE_FEATURES).to(device)
        net.scaling.fit(
            torch.from_numpy(rows.sample(SCALING_SAMPLE, self.seed)).to(device).unsqueeze(1),
            self.input_scaling,
        )
        y_all = torch.from_numpy(split_targets).to(device)
        self._train(net, rows, y_all, device, validation_data, list(self.callbacks or ()))
        return self

    def _calibrate(self, validation_data: tuple | None) -> None:
        """``temperature_`` (``calibration="temperature"``) and the conformal scores of ``predict_set``, from the
        validation split (the one early stopping watches; never test data). Without one: temperature 1, and no
        prediction sets."""
        self.temperature_, self.conformal_ = 1.0, None
        if validation_data is None:
            return
        logits = self._logits(validation_data[0]).numpy().astype(np.float64)
        targets = np.searchsorted(self.classes_, np.asarray(validation_data[1]))
        if self.calibration == "temperature":
            self.temperature_ = fit_temperature(logits, targets)
        self.conformal_ = ConformalCalibration.from_probabilities(self._softmax(logits), targets)

    def _softmax(self, logits: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        return softmax(logits / getattr(self, "temperature_", 1.0), axis=1)

    def _checked_tensors(self, X, y, what: str = "validation", *, device: torch.device) -> tuple:
        """Images and labels as ``fit`` takes them, checked as ``X`` is, as tensors of images and class indices;
        ``what`` names the data in errors."""
        val_X = self._rows(X)
        val_y = np.asarray(y)
        unknown = np.setdiff1d(val_y, self.classes_)
        if unknown.size:
            raise DataFormatError(f"{what} labels {unknown[:5].tolist()} are not among the training classes")
        x = torch.from_numpy(np.ascontiguousarray(as_model_input(val_X))).to(device)
        return x, torch.from_numpy(np.searchsorted(self.classes_, val_y)).to(device)

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self, "network_")
        if getattr(X, "is_streamed", False):  # images on disk: a shard at a time
            return self._streamed_logits(X)
        device = next(self.network_.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(as_model_input(self._rows(X)))).to(device)
        cfg, _ = self._config(device, networks.is_convolutional(self.network_))
        if getattr(self, "_weights_channels_last", None) is not cfg.channels_last:
            # The weights in the layout the inputs come in: a network loaded from a run (contiguous weights) then
            # computes exactly what the trained one (channels-last after training) does.
            layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
            self.network_.to(memory_format=layout)
            self._weights_channels_last = cfg.channels_last
        with torch_threads(self.threads):
            logits, _, _ = evaluate(self.network_, x, None, cfg)
            if (
                self.tta == "flip"
            ):  # test-time augmentation: the mean of the logits of the image and its mirror
                logits = (logits + evaluate(self.network_, x.flip(-1), None, cfg)[0]) / 2
        return logits

    def _streamed_logits(self, X) -> torch.Tensor:
        """The logits of images on disk, :data:`STREAMED_CHUNK` at a time, into one tensor made once: a list of
        small results kept between the chunks' large temporaries let glibc's heap grow chunk after chunk."""
        out = None
        for images, where in X.chunks(STREAMED_CHUNK):
            logits = self._logits(images)
            if out is None:
                out = torch.empty((len(X), logits.shape[1]), dtype=logits.dtype)
            out[torch.from_numpy(where)] = logits
        return torch.zeros((0, len(self.classes_))) if out is None else out

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (N, n_classes), columns in the order of ``classes_``: the softmax of the
        logits over ``temperature_`` (fitted on the validation split; 1 without one)."""
        proba = self._softmax(self._logits(X).numpy().astype(np.float64))
        return proba / proba.sum(axis=1, keepdims=True)  # exact sums, as scikit-learn's metrics check

    def predict_set(self, X, alpha: float = 0.1, method: str = DEFAULT_METHOD) -> np.ndarray:
        """Conformal prediction sets: the classes each image's set holds.

        A set holds the true class with probability >= 1 - ``alpha`` when the images are exchangeable with the
        validation split the scores were calibrated on (:mod:`mnistlab.models.calibration`).

        Parameters
        ----------
        X : array-like of shape (N, 28, 28) or (N, D)
            Images, pixels on the 0..255 scale.
        alpha : float
            Miscoverage, strictly between 0 and 1: 0.1 gives 90% sets.
        method : {"split-nonempty", "split", "class-conditional", "aps", "raps"}
            ``"split-nonempty"`` (default): split conformal (LAC) sets with the most probable class always in,
            never empty. ``"split"``: LAC alone, the smallest sets on average, but a set may be empty (no class
            is as probable as the true class of 1 - alpha of the validation images). ``"class-conditional"``:
            the guarantee within every class (larger sets; may be empty). ``"aps"`` / ``"raps"``: adaptive sets
            (MAPIE's; never empty), larger for harder images; they need 3 or more classes and a run saved from
            format 3 on.

        Returns
        -------
        ndarray of shape (N, n_classes), bool
            Column ``k`` is ``classes_[k]``; with ``"split"`` or ``"class-conditional"`` a row may be empty.

        Raises
        ------
        ParameterError
            For an ``alpha`` outside (0, 1), an unknown method, a model trained without a validation split, or
            an adaptive method on a run saved before its validation probabilities were kept.

        Examples
        --------
        >>> X = np.random.default_rng(0).integers(0, 256, (200, 28, 28), dtype=np.uint8)
        >>> y = (X[:, :, :14].mean((1, 2)) > X[:, :, 14:].mean((1, 2))).astype(int)
        >>> clf = TorchClassifier("mlp", epochs=5, validation_split=0.5, threads=1).fit(X, y)
        >>> clf.predict_set(X[:3], alpha=0.2).shape
        (3, 2)
        >>> bool(clf.predict_set(X, alpha=0.2).any(axis=1).all())  # split-nonempty: never an empty set
        True
        """
        check_alpha(alpha)
        check_method(method)
        check_is_fitted(self, "network_")
        if getattr(self, "conformal_", None) is None:
            raise ParameterError(
                "this model was trained without a validation split, which conformal sets are calibrated on; "
                "train with validation_split > 0 (mnistlab train does by default)"
            )
        return prediction_sets(self.predict_proba(X), self.conformal_, alpha, method)

    def explain(self, X, method: str = "integrated_gradients", target=None) -> np.ndarray:
        """Pixel attribution maps (N, 28, 28) of 28x28 images for ``target`` (default: the predicted class; an
        index into ``classes_``): ``saliency``, ``integrated_gradients`` or ``occlusion``
        (:mod:`mnistlab.models.explain`). How figures reach a network's gradients without importing PyTorch."""
        from mnistlab.models.explain import explain

        return explain(self, X, method, target)

    def decision_function(self, X) -> np.ndarray:
        """Logits (N, n_classes); for two classes the positive-minus-negative logit (N,), as scikit-learn does."""
        logits = self._logits(X).numpy().astype(np.float64)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict(self, X) -> np.ndarray:
        logits = self._logits(X)  # checks that the model is fitted first
        return self.classes_[logits.argmax(1).numpy()]
