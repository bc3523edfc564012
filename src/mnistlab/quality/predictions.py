"""Out-of-sample probabilities for the checks that need a model's opinion (suspected label errors, underperforming
groups): every image is scored by a model (the *judge*) that never saw it.

The first split (the training split) is scored out-of-fold: ``folds`` stratified folds, each scored by a model
trained on the others. Every other split (a test split) is scored by one model trained on *all* of the first split
when ``cross_split`` is on (a stronger judge than folds of the small split itself, for one fit instead of
``folds``), or out-of-fold within itself when it is off. Each split's record says which model scored it, trained
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

import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np

from mnistlab import models
from mnistlab.datasets import Dataset
from mnistlab.quality.base import CheckedData

log = logging.getLogger("mnistlab.quality")

AUTO = "auto"
# In the order they are tried: cheapest first on large data, where fits are slow (on small data all are quick). A CNN
# whose schedule is too short for the data scores low on the probe fold and is passed over.
JUDGE_LADDER = ("cnn-fast", "mlp", "logreg")
# Below this out-of-fold accuracy a judge gives no verdict; below CAREFUL it gives one with a warning (the rule and
# the measurements behind it: judge_verdict and docs/guide/data-quality.md).
MIN_JUDGE_ACCURACY = 0.8
CAREFUL_JUDGE_ACCURACY = 0.9


@dataclass(frozen=True)
class ScoredSplit:
    """One split's out-of-sample probabilities (N, classes), who scored it, in words ("cnn-fast, 5-fold
    out-of-fold within train (60000 images)"), and the share of its images whose recorded label is the
    probabilities' top class (``accuracy``)."""

    proba: np.ndarray
    scored_by: str
    accuracy: float = float("nan")


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
    """

    model: str
    accuracy: float
    chosen: str
    ladder: dict = field(default_factory=dict)
    majority: float = 0.0
    verdict: bool = True
    caveat: str = ""

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
            "verdict": self.verdict,
            "caveat": self.caveat,
            "splits": {
                name: {"scored_by": s.scored_by, "accuracy": round(s.accuracy, 4)}
                for name, s in splits.items()
            },
        }


def judge_verdict(
    accuracy: float, majority: float, min_accuracy: float = MIN_JUDGE_ACCURACY
) -> tuple[bool, str]:
    """Can a judge of this out-of-fold ``accuracy`` (agreement with the recorded labels) tell label errors apart
    from its own mistakes, on data whose commonest class holds ``majority`` of the images? ``(verdict, caveat)``.

    The rule: no verdict below ``min_accuracy`` (:data:`MIN_JUDGE_ACCURACY`, 0.8), or when the judge's error is
    more than half the error of always answering the commonest class (it learned little beyond the class sizes).
    Confident learning flags the images the judge confidently disagrees with, so a judge's own mistakes become
    false suspects: measured on 1,400 MNIST images with 28 planted flips, a judge at 0.63 flagged 313 at
    precision 0.05, judges at 0.84-0.87 flagged 42-107 at precision 0.21-0.43, one at 0.95 flagged 20 at
    precision 0.95. Between 0.8 and :data:`CAREFUL_JUDGE_ACCURACY` (0.9) the verdict comes with that warning.
    The accuracy is measured against the recorded labels, so wrong labels lower it too: with over 20% of them
    wrong even a perfect judge is refused; whoever knows that can lower ``min_accuracy`` (0 turns the rule off).

    Examples
    --------
    >>> judge_verdict(0.49, 0.11)[0], judge_verdict(0.97, 0.11)
    (False, (True, ''))
    >>> judge_verdict(0.94, 0.90)[0]  # 90% of one class: 0.94 is barely better than always answering it
    False
    >>> judge_verdict(0.75, 0.11, min_accuracy=0.7)[0]
    True
    """
    if accuracy < min_accuracy or (min_accuracy > 0 and (1 - accuracy) > 0.5 * (1 - majority)):
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
        scored = {}
        for split, dataset in data.splits.items():
            start = time.perf_counter()
            if split == first or not cross_split:
                splits_cv = cv if split == first else _folds(dataset, folds, seed)
                proba = _out_of_fold(
                    dataset, name, splits_cv, seed, n_classes, probe if split == first else None
                )
                by = f"{name}, {folds}-fold out-of-fold within {split} ({len(dataset)} images)"
            else:
                proba = _trained_on(train, dataset, name, seed, n_classes)
                by = f"{name} trained on all of {first} ({len(train)} images)"
            log.info("%s scored by %s: %.1f s", split, by, time.perf_counter() - start)
            scored[split] = ScoredSplit(proba, by, float((proba.argmax(1) == dataset.labels).mean()))
        majority = float(np.bincount(train.labels).max() / len(train))
        data.cache[key] = (Judge(name, scored[first].accuracy, chosen, ladder, majority), scored)
    judge, scored = data.cache[key]
    verdict, caveat = judge_verdict(judge.accuracy, judge.majority, min_accuracy)
    return Judgement(replace(judge, verdict=verdict, caveat=caveat), scored)


def out_of_sample_probabilities(
    data: CheckedData, model: str = AUTO, folds: int = 5, seed: int = 0, cross_split: bool = True
) -> dict[str, ScoredSplit]:
    """Every split's probabilities from models that never saw the image (:func:`judged`'s splits)."""
    return judged(data, model, folds, seed, cross_split).splits


def _folds(dataset: Dataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(dataset.images, dataset.labels))


def _climb(
    dataset: Dataset, fold: tuple[np.ndarray, np.ndarray], seed: int, n_classes: int
) -> tuple[str, dict[str, float], np.ndarray]:
    """The ladder climbed on ``fold`` (each candidate trained on its first part, scored on its second) until a
    candidate reaches :data:`CAREFUL_JUDGE_ACCURACY` or is no better than the best before it; the most accurate
    candidate tried, every tried candidate's accuracy, and the winner's probabilities of the fold."""
    fit_on, scored = fold
    ladder, probes = {}, {}
    for name in JUDGE_LADDER:
        start = time.perf_counter()
        estimator = _estimator(name, dataset, seed)
        estimator.fit(dataset.images[fit_on], dataset.labels[fit_on])
        probes[name] = _full_width(estimator, dataset.images[scored], n_classes)
        ladder[name] = float((probes[name].argmax(1) == dataset.labels[scored]).mean())
        log.info(
            "judge candidate %s: accuracy %.4f (%.1f s)", name, ladder[name], time.perf_counter() - start
        )
        best_before = max((acc for other, acc in ladder.items() if other != name), default=-1.0)
        if ladder[name] >= CAREFUL_JUDGE_ACCURACY or ladder[name] <= best_before:
            break  # good enough, or climbing stopped paying: the next rungs cost more on large data
    best = max(ladder, key=lambda name: ladder[name])  # the first (cheapest) of equals
    return best, ladder, probes[best]


def _estimator(model: str, dataset: Dataset, seed: int):
    quiet = {"verbose": 0, "seed": seed} if models.get_spec(model).kind == "torch" else {}
    return models.create(model, dataset, **quiet)


def _out_of_fold(
    dataset: Dataset,
    model: str,
    cv: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
    n_classes: int,
    first_fold: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities over ``cv``; ``first_fold``: the first fold's, already computed."""
    proba = np.zeros((len(dataset), n_classes))
    for position, (fit_on, scored) in enumerate(cv):
        if position == 0 and first_fold is not None:
            proba[scored] = first_fold
            continue
        estimator = _estimator(model, dataset, seed)
        estimator.fit(dataset.images[fit_on], dataset.labels[fit_on])
        proba[scored] = _full_width(estimator, dataset.images[scored], n_classes)
    return proba


def _trained_on(train: Dataset, scored: Dataset, model: str, seed: int, n_classes: int) -> np.ndarray:
    estimator = _estimator(model, train, seed)
    estimator.fit(train.images, train.labels)
    return _full_width(estimator, scored.images, n_classes)


def _full_width(estimator, images: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class of the data set, also for a class the fitted model never saw
    (probability 0)."""
    out = np.zeros((len(images), n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = estimator.predict_proba(images)
    return out
