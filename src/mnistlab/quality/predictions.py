"""Out-of-sample probabilities for the checks that need a model's opinion (suspected label errors, underperforming
groups): every image is scored by a model (the *judge*) that never saw it.

The first split (the training split) is scored out-of-fold: ``folds`` stratified folds, each scored by a model
trained on the others. Every other split (a test split) is scored by the mean of those fold models when
``cross_split`` is on (none of them saw it: an ensemble of ``folds`` models, for no extra fit), or out-of-fold
within itself when it is off. When the first pass suspects :data:`REFIT_SHARE` (1%) of the training split or
more, the judge has learned from wrong labels too: every fold's model is refit without the suspects, and all the
splits are scored again (the suspects included). Each split's record says which model scored it, trained
on what, and how often its top class agrees with the recorded labels. The probabilities are computed once per data
set and settings and shared by the checks that ask.

**The judge fits the data.** With ``model="auto"`` (the default of ``health``) the judge is chosen from
:data:`JUDGE_LADDER` by measured accuracy on the data itself: each candidate in turn is trained on the first
fold's training part and scored on its held-out part (the fold the winner's out-of-fold probabilities then reuse,
so the chosen judge costs no extra fit). The climb stops at the first candidate that reaches
:data:`CAREFUL_JUDGE_ACCURACY`, or that is no better than the best before it; the judge is the most accurate
candidate tried (a tie goes to the earlier). The ladder is ordered by cost on large data: a one-epoch CNN is the
cheapest there (on 48,000 MNIST images here one fit took 29 s, the ``mlp`` 52 s, ``logreg`` over 3 minutes, on a
busy 2-core machine) and the best (0.988), so on MNIST nothing else is trained; on small data every candidate
takes seconds. A judge that learned too little to tell a wrong label from its own mistake gives no
verdict (:func:`judge_verdict`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from mnistlab import models
from mnistlab.datasets import Dataset
from mnistlab.evaluation import at_temperature
from mnistlab.parallel import loop_of_fits
from mnistlab.quality.base import CheckedData
from mnistlab.quality.confident_learning import first_pass_suspects, suspected_label_errors

log = logging.getLogger("mnistlab.quality")

AUTO = "auto"
# In the order they are tried: cheapest first on large data, where fits are slow (on small data all are quick). A CNN
# whose schedule is too short for the data scores low on the probe fold and is passed over.
JUDGE_LADDER = ("cnn-fast", "mlp", "logreg")
# Below this out-of-fold accuracy a judge gives no verdict; below CAREFUL it gives one with a warning (the rule and
# the measurements behind it: judge_verdict and docs/guide/data-quality.md).
MIN_JUDGE_ACCURACY = 0.8
CAREFUL_JUDGE_ACCURACY = 0.9
# When a first out-of-fold pass suspects at least this share of the training split, the judge is refit without them
# and judges again (iterative cross-validation, Chen et al., 2019): measured on 10,000 MNIST images with 5-20% of
# the labels flipped, the refit judge is right on 0.5-1.8 points more images and the flagged set's F1 rises 1.7-3.1
# points; below 1% (real MNIST) the refit changes little and would double the cost.
REFIT_SHARE = 0.01


# joblib's n_jobs for the judge's fold fits (None: one at a time); only those fits, not the other checks' searches
_FOLD_JOBS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "mnistlab_judge_fold_jobs", default=None
)


@contextlib.contextmanager
def judge_folds_at_once(n_jobs: int | None) -> Iterator[None]:
    """Inside the block the judge's fold models train as ``n_jobs`` joblib tasks at once (None: one at a time);
    inside :func:`mnistlab.parallel.parallel` with a cluster they run on its Dask workers.

    Examples
    --------
    >>> from mnistlab.parallel import parallel
    >>> with parallel(jobs=2) as n_jobs, judge_folds_at_once(n_jobs):  # doctest: +SKIP
    ...     report = audit(splits, checks)
    """
    token = _FOLD_JOBS.set(n_jobs)
    try:
        yield
    finally:
        _FOLD_JOBS.reset(token)


@dataclass(frozen=True)
class ScoredSplit:
    """One split's out-of-sample probabilities (N, classes), who scored it, in words ("cnn-fast, 5-fold
    out-of-fold within train (60000 images)"), the share of its images whose recorded label is the
    probabilities' top class (``accuracy``), for a split judged twice the first pass's probabilities
    (``first_pass``: what a one-pass tool such as cleanlab would be given; the benchmark compares the two), and
    the images the filter suspects under ``proba`` (``suspects``, most doubtful first; computed once here, read
    by the checks)."""

    proba: np.ndarray
    scored_by: str
    accuracy: float = float("nan")
    first_pass: np.ndarray | None = None
    suspects: np.ndarray | None = None


# measured on planted noise and on judges too weak for their data (judge_verdict's docstring)
NOISE_UNFLAGGED_AGREEMENT = 0.85
NOISE_SEPARATION = 0.68


@dataclass(frozen=True)
class NoiseSigns:
    """What tells many wrong labels from a weak judge, when a judge agrees with few recorded labels.

    Attributes
    ----------
    unflagged_agreement : float
        The judge's agreement with the labels the filter does not flag.
    separation : float
        How much surer the judge is where it agrees with the label than where it disagrees: the area under the
        ROC curve of its top probability telling the two apart (0.5: equally sure; label noise that does not
        depend on the image gives about 0.5, a judge's own mistakes on hard images much more).
    flagged_share : float
        The share of the images the filter flags.
    """

    unflagged_agreement: float
    separation: float
    flagged_share: float

    def points_to_wrong_labels(self) -> bool:
        return (
            self.unflagged_agreement >= NOISE_UNFLAGGED_AGREEMENT
            and self.separation <= NOISE_SEPARATION
            and self.flagged_share < 0.5
        )

    @classmethod
    def measure(cls, proba: np.ndarray, labels: np.ndarray, suspects: np.ndarray | None = None) -> NoiseSigns:
        """The signs in out-of-fold probabilities ``proba`` of the recorded ``labels`` (``suspects``: the
        filter's suspects under ``proba``, when already known)."""
        from sklearn.metrics import roc_auc_score

        flagged = np.zeros(len(labels), dtype=bool)
        flagged[suspected_label_errors(proba, labels) if suspects is None else suspects] = True
        agrees = proba.argmax(1) == labels
        unflagged = float(agrees[~flagged].mean()) if (~flagged).any() else 0.0
        separation = float(roc_auc_score(agrees, proba.max(1))) if 0 < agrees.mean() < 1 else 1.0
        return cls(unflagged, separation, float(flagged.mean()))


@dataclass(frozen=True)
class Judge:
    """The model whose out-of-sample probabilities judge the labels, and whether it can.

    Attributes
    ----------
    model : str
        The judge's model name.
    accuracy : float
        Its out-of-fold accuracy on the first split's recorded labels.
    chosen : str
        How it became the judge, in words ("named by the user", or the ladder's measured accuracies).
    ladder : dict
        ``{model: accuracy on the probe fold}`` of each candidate tried (empty when the judge was named).
    majority : float
        The share of the first split's commonest class: the accuracy of always answering it.
    verdict : bool
        False: the judge learned too little to judge labels (:func:`judge_verdict`); the label checks then flag
        nothing and say why.
    caveat : str
        Why there is no verdict, or why to read the verdict with care ("" when neither).
    temperature : float
        The temperature that calibrates the judge's probabilities (:func:`calibrating_temperature`; below 1
        sharpens an underconfident judge).
    """

    model: str
    accuracy: float
    chosen: str
    ladder: dict = field(default_factory=dict)
    majority: float = 0.0
    verdict: bool = True
    caveat: str = ""
    temperature: float = 1.0
    noise: NoiseSigns | None = None

    def describe(self) -> str:
        """The judge in one phrase, as printed beside every count.

        Examples
        --------
        >>> Judge("logreg", 0.8943, "named by the user").describe()
        'judge logreg, out-of-fold accuracy 0.894, named by the user'
        """
        return f"judge {self.model}, out-of-fold accuracy {self.accuracy:.3f}, {self.chosen}"

    def record(self, splits: dict[str, ScoredSplit]) -> dict:
        """What ``health.json`` keeps of the judge: these fields and, per split, who scored it and the share of
        its recorded labels the probabilities agree with."""
        return {
            "model": self.model,
            "out_of_fold_accuracy": round(self.accuracy, 4),
            "chosen": self.chosen,
            "ladder": {name: round(acc, 4) for name, acc in self.ladder.items()},
            "majority_class_share": round(self.majority, 4),
            "temperature": round(self.temperature, 4),
            **(
                {"noise_signs": {k: round(v, 4) for k, v in asdict(self.noise).items()}} if self.noise else {}
            ),
            "verdict": self.verdict,
            "caveat": self.caveat,
            "splits": {
                name: {"scored_by": s.scored_by, "accuracy": round(s.accuracy, 4)}
                for name, s in splits.items()
            },
        }


def judge_verdict(
    accuracy: float,
    majority: float,
    min_accuracy: float = MIN_JUDGE_ACCURACY,
    noise: NoiseSigns | None = None,
) -> tuple[bool, str]:
    """Can a judge of this out-of-fold ``accuracy`` (agreement with the recorded labels) tell label errors apart
    from its own mistakes, on data whose commonest class holds ``majority`` of the images? ``(verdict, caveat)``.

    The rule: no verdict below ``min_accuracy`` (:data:`MIN_JUDGE_ACCURACY`, 0.8), or when the judge's error is
    more than half the error of always answering the commonest class (it learned little beyond the class sizes).
    Confident learning flags the images the judge confidently disagrees with, so a judge's own mistakes become
    false suspects: measured on 1,400 MNIST images with 28 planted flips, a judge at 0.63 flagged 313 at
    precision 0.05, judges at 0.84-0.87 flagged 42-107 at precision 0.21-0.43, one at 0.95 flagged 20 at
    precision 0.95. Between 0.8 and :data:`CAREFUL_JUDGE_ACCURACY` (0.9) the verdict comes with that warning.
    The accuracy is measured against the recorded labels, so wrong labels lower it too. Many wrong labels and a
    weak judge are told apart by ``noise`` (:class:`NoiseSigns`): a judge that agrees with at least
    :data:`NOISE_UNFLAGGED_AGREEMENT` of the labels it does not flag, and is about as sure where it disagrees as
    where it agrees (:data:`NOISE_SEPARATION`), is judging wrong labels, not making mistakes, and gives a verdict
    with a caveat. Measured with the refit, calibrated judge: 1,000-10,000 MNIST and Fashion-MNIST images with
    20-40% of their labels flipped gave 0.86-0.99 and 0.60-0.67 (flag precision 0.58-0.99; one at 0.711, Fashion
    with 20% look-alike flips, precision 0.54, is refused); judges weak for their data (logreg, mlp on 1,400 MNIST
    images: precision 0.24-0.32) gave 0.91 and 0.82-0.85, Fashion at 5% (precision 0.24-0.29) 0.90-0.92 and
    0.74-0.77.
    ``min_accuracy=0`` turns every rule off.

    Examples
    --------
    >>> judge_verdict(0.49, 0.11)[0], judge_verdict(0.97, 0.11)
    (False, (True, ''))
    >>> judge_verdict(0.94, 0.90)[0]  # 90% of one class: 0.94 is barely better than always answering it
    False
    >>> judge_verdict(0.75, 0.11, min_accuracy=0.7)[0]
    True
    >>> judge_verdict(0.59, 0.11, noise=NoiseSigns(0.98, 0.55, 0.40))[0]  # 40% of the labels flipped
    True
    """
    if accuracy < min_accuracy or (min_accuracy > 0 and (1 - accuracy) > 0.5 * (1 - majority)):
        if noise is not None and min_accuracy > 0 and noise.points_to_wrong_labels():
            return True, (
                f"the judge agrees with only {accuracy:.3f} of the recorded labels out of fold, but with "
                f"{noise.unflagged_agreement:.3f} of those it does not flag, and it is as sure where it disagrees "
                f"as where it agrees (separation {noise.separation:.2f}): read as many wrong labels (it flags "
                f"{noise.flagged_share:.1%} of them), not as a weak judge; review the suspects before relabelling"
            )
        return False, (
            f"the judge agrees with only {accuracy:.3f} of the recorded labels out of "
            f"fold, too few to tell a wrong label from its own mistake (needs >= {min_accuracy:g}, and at most "
            f"half the error of always answering the commonest class, which holds {majority:.3f}); name a "
            "stronger judge (--model), add data, or, if you know that many labels are wrong, lower "
            "--min-judge-accuracy"
        )
    if accuracy < CAREFUL_JUDGE_ACCURACY:
        return True, (
            f"the judge agrees with {accuracy:.3f} of the recorded labels out of fold (below "
            f"{CAREFUL_JUDGE_ACCURACY}): either it is a weak judge and many suspects are its own mistakes "
            "(precision 0.2-0.4 measured at 0.84-0.87), or many labels are wrong; review the suspects before "
            "relabelling"
        )
    return True, ""


@dataclass(frozen=True)
class Judgement:
    """The judge and every split's out-of-sample probabilities."""

    judge: Judge
    splits: dict[str, ScoredSplit]


@loop_of_fits()  # Ctrl-C or SIGTERM stops the check: a half-trained judge must never judge the labels
def judged(
    data: CheckedData,
    model: str = AUTO,
    folds: int = 5,
    seed: int = 0,
    cross_split: bool = True,
    min_accuracy: float = MIN_JUDGE_ACCURACY,
) -> Judgement:
    """The judge (``model``, or with ``"auto"`` the one :data:`JUDGE_LADDER` gives on this data), whether it can
    judge (:func:`judge_verdict` with ``min_accuracy``), and every split's probabilities from it (see the module's
    description); the probabilities are cached in ``data`` so that two checks asking with the same settings train
    once."""
    key = ("judged", model, folds, seed, cross_split)
    if key not in data.cache:
        first = next(iter(data.splits))
        train, n_classes = data.splits[first], len(data.classes)
        cv = _folds(train, folds, seed)
        if model == AUTO:
            name, ladder, probe = _climb(train, cv[0], seed, n_classes)
            tried = ", ".join(f"{m} {acc:.3f}" for m, acc in ladder.items())
            chosen = f"chosen from the ladder by accuracy on one held-out fold of {first} ({tried})"
        else:
            name, ladder, probe, chosen = model, {}, None, "named by the user"
        others = {split: ds for split, ds in list(data.splits.items())[1:]} if cross_split else {}
        start = time.perf_counter()
        proba, other_proba = _out_of_fold(train, name, cv, seed, n_classes, probe, others=others)
        by = f"{name}, {folds}-fold out-of-fold within {first} ({len(train)} images)"
        suspects = first_pass_suspects(proba, train.labels)
        first_pass, refit = None, ""
        if len(suspects) >= REFIT_SHARE * len(train):
            # the judge learned from the wrong labels too: judge again with models that did not
            keep = np.ones(len(train), dtype=bool)
            keep[suspects] = False
            first_pass = proba
            proba, other_proba = _out_of_fold(train, name, cv, seed, n_classes, keep=keep, others=others)
            refit = f", refit without the {len(suspects)} images a first pass suspected"
        log.info("%s scored by %s: %.1f s", first, by + refit, time.perf_counter() - start)
        agreement = float((proba.argmax(1) == train.labels).mean())
        temperature = calibrating_temperature(proba, train.labels)
        proba = at_temperature(proba, 1 / temperature)
        train_suspects = suspected_label_errors(proba, train.labels)
        scored = {first: ScoredSplit(proba, by + refit, agreement, first_pass, train_suspects)}
        for split, dataset in list(data.splits.items())[1:]:
            if cross_split:
                split_proba = other_proba[split]
                split_by = f"{name}, the mean of the {folds} fold models of {first}{refit}"
            else:
                split_proba, _ = _out_of_fold(dataset, name, _folds(dataset, folds, seed), seed, n_classes)
                split_by = f"{name}, {folds}-fold out-of-fold within {split} ({len(dataset)} images)"
            split_agreement = float((split_proba.argmax(1) == dataset.labels).mean())
            split_proba = at_temperature(split_proba, 1 / temperature)
            split_suspects = suspected_label_errors(split_proba, dataset.labels)
            scored[split] = ScoredSplit(split_proba, split_by, split_agreement, suspects=split_suspects)
        majority = float(np.bincount(train.labels).max() / len(train))
        noise = NoiseSigns.measure(proba, train.labels, train_suspects)
        judge = Judge(name, agreement, chosen, ladder, majority, temperature=temperature, noise=noise)
        data.cache[key] = (judge, scored)
    judge, scored = data.cache[key]
    verdict, caveat = judge_verdict(judge.accuracy, judge.majority, min_accuracy, judge.noise)
    return Judgement(replace(judge, verdict=verdict, caveat=caveat), scored)


def calibrating_temperature(proba: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T that makes out-of-fold probabilities ``proba`` fit the recorded ``labels`` best
    (:func:`mnistlab.models.calibration.fit_temperature` on their logarithms; temperature scaling, Guo et al.,
    2017); :func:`~mnistlab.evaluation.calibration.at_temperature` with ``1 / T`` applies it.

    Confident learning counts an image as another class's when that class's probability reaches the class's
    average: an underconfident judge (a one-epoch CNN agrees with 99.2% of MNIST's labels at an average
    top probability of 0.89) leaves real errors below it. On MNIST (T = 0.46) calibration turned 0 flagged
    test images into 3, all three among the 15 that people confirmed wrong (Northcutt et al., 2021), and 10
    flagged training images into 45; on planted noise it moved F1 by -0.5 to +1.7 points.

    Examples
    --------
    >>> labels = np.array([0, 1] * 50)
    >>> soft = np.where(np.eye(2)[labels] == 1, 0.6, 0.4)  # always right, never sure
    >>> bool(calibrating_temperature(soft, labels) < 0.2)
    True
    """
    from mnistlab.models import fit_temperature

    return fit_temperature(np.log(np.clip(proba, 1e-12, 1)), labels)


def out_of_sample_probabilities(
    data: CheckedData, model: str = AUTO, folds: int = 5, seed: int = 0, cross_split: bool = True
) -> dict[str, ScoredSplit]:
    """Every split's probabilities from models that never saw the image (:func:`judged`'s splits)."""
    return judged(data, model, folds, seed, cross_split).splits


def _folds(dataset: Dataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(dataset.labels, dataset.labels))


def _climb(
    dataset: Dataset, fold: tuple[np.ndarray, np.ndarray], seed: int, n_classes: int
) -> tuple[str, dict[str, float], np.ndarray]:
    """The ladder climbed on ``fold`` (each candidate trained on its first part, scored on its second) until a
    candidate reaches :data:`CAREFUL_JUDGE_ACCURACY` or is no better than the best before it; the most accurate
    candidate tried, every tried candidate's accuracy, and the winner's probabilities of the fold."""
    fit_on, scored = fold
    ladder, probes, fitted = {}, {}, {}
    streamed = getattr(dataset.images, "is_streamed", False)
    for name in JUDGE_LADDER:
        if streamed and models.get_spec(name).kind != "torch":
            continue  # images on disk: only the networks train shard by shard
        start = time.perf_counter()
        estimator = _estimator(name, dataset, seed)
        estimator.fit(_rows(dataset.images, fit_on), dataset.labels[fit_on])
        probes[name] = _full_width(estimator, _rows(dataset.images, scored), n_classes)
        fitted[name] = estimator
        ladder[name] = float((probes[name].argmax(1) == dataset.labels[scored]).mean())
        log.info(
            "judge candidate %s: accuracy %.4f (%.1f s)", name, ladder[name], time.perf_counter() - start
        )
        best_before = max((acc for other, acc in ladder.items() if other != name), default=-1.0)
        if ladder[name] >= CAREFUL_JUDGE_ACCURACY or ladder[name] <= best_before:
            break  # good enough, or climbing stopped paying: the next rungs cost more on large data
    best = max(ladder, key=lambda name: ladder[name])  # the first (cheapest) of equals
    return best, ladder, (fitted[best], probes[best])


def _estimator(model: str, dataset: Dataset, seed: int):
    quiet = {"verbose": 0, "seed": seed} if models.get_spec(model).kind == "torch" else {}
    return models.create(model, dataset, **quiet)


def _out_of_fold(
    dataset: Dataset,
    model: str,
    cv: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
    n_classes: int,
    first_fold: tuple | None = None,
    keep: np.ndarray | None = None,
    others: dict[str, Dataset] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Out-of-fold probabilities over ``cv``, and each of ``others``' probabilities as the mean of the fold
    models' (none of which saw them). ``first_fold``: the first fold's model and probabilities, already
    computed; ``keep``: which images the models may learn from (every image is scored).

    The folds' fits are joblib tasks: one at a time by default, on this machine's processes or on a Dask
    cluster inside :func:`mnistlab.parallel.parallel` (``health --jobs`` / ``--cluster``) with
    :func:`judge_folds_at_once`. The results are the same either way where each fit runs the same number of
    threads (each fold's model is seeded alike; a worker's fits keep to its threads, and bf16 sums in another
    order differ slightly)."""
    from joblib import Parallel, delayed

    others = others or {}
    tasks = []
    for position, (fit_on, scored) in enumerate(cv):
        if position == 0 and first_fold is not None:
            continue
        if keep is not None:
            fit_on = fit_on[keep[fit_on]]
        tasks.append(delayed(_fold)(dataset, model, fit_on, scored, seed, n_classes, others))
    done = list(Parallel(n_jobs=_FOLD_JOBS.get())(tasks))
    if first_fold is not None:
        estimator, probe = first_fold
        done.insert(
            0, (probe, {split: _full_width(estimator, ds.images, n_classes) for split, ds in others.items()})
        )
    proba = np.zeros((len(dataset), n_classes))
    other_proba = {split: np.zeros((len(ds), n_classes)) for split, ds in others.items()}
    for (_, scored), (scored_proba, scored_others) in zip(cv, done, strict=True):
        proba[scored] = scored_proba
        for split in others:
            other_proba[split] += scored_others[split] / len(cv)
    return proba, other_proba


def _fold(
    dataset: Dataset,
    model: str,
    fit_on: np.ndarray,
    scored: np.ndarray,
    seed: int,
    n_classes: int,
    others: dict[str, Dataset],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One fold: a judge trained on ``fit_on``, its probabilities of ``scored`` and of every image of ``others``."""
    estimator = _estimator(model, dataset, seed)
    estimator.fit(_rows(dataset.images, fit_on), dataset.labels[fit_on])
    scored_proba = _full_width(estimator, _rows(dataset.images, scored), n_classes)
    return scored_proba, {split: _full_width(estimator, ds.images, n_classes) for split, ds in others.items()}


def _rows(images, indices: np.ndarray):
    """The images at ``indices``: an array's rows, or of images on disk a view that training and prediction read
    shard by shard (so a fold of a shard folder is never read into memory whole)."""
    return images.subset(indices) if getattr(images, "is_streamed", False) else images[indices]


def _full_width(estimator, images: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class of the data set, also for a class the fitted model never saw
    (probability 0)."""
    out = np.zeros((len(images), n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = estimator.predict_proba(images)
    return out
