"""Suspected label errors: confident learning's filter (:mod:`mnistlab.quality.confident_learning`, cleanlab's) on
out-of-sample probabilities of a judge (no image is scored by a model that saw it, and the judge is refit without
the first pass's suspects when they are many: :mod:`mnistlab.quality.predictions`); suspects are ranked by the
probability of their recorded label, lowest first.
"""

from __future__ import annotations

import warnings

import numpy as np

from mnistlab import models
from mnistlab.errors import ParameterError
from mnistlab.evaluation import check_folds
from mnistlab.params import integer, real, rule_set
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding
from mnistlab.quality.confident_learning import suspected_label_errors
from mnistlab.quality.predictions import AUTO, MIN_JUDGE_ACCURACY, Judgement, judged

# The settings of a check that judges with a model (LabelErrors, UnderperformingGroups); folds are also checked
# against the data (evaluation.check_folds)
JUDGE_RULES = rule_set(folds=integer(low=2), seed=integer(low=0), min_judge_accuracy=real(low=0, high=1))


def check_judge(model: str, data: CheckedData) -> None:
    """Refuse a judge that is not a model or gives no probabilities (``"auto"``: the ladder's all do)."""
    if model == AUTO:
        return
    spec = models.get_spec(model)
    probe = models.create(model, next(iter(data.splits.values())))
    if spec.kind == "sklearn" and not hasattr(probe, "predict_proba"):
        raise ParameterError(
            f"model {model!r} gives no probabilities; suspected label errors need them "
            "(e.g. auto, cnn-fast, mlp, logreg, random-forest)"
        )


def judged_by(judgement: Judgement) -> str:
    """The judge and how each split was scored, in words (printed beside every count of the model checks).

    Examples
    --------
    >>> from mnistlab.quality.predictions import Judge, ScoredSplit
    >>> judge = Judge("logreg", 0.9, "named by the user")
    >>> judged_by(Judgement(judge, {"train": ScoredSplit(None, "logreg, 5-fold out-of-fold within train", 0.9)}))
    'judge logreg, out-of-fold accuracy 0.900, named by the user; train: logreg, 5-fold out-of-fold within train, accuracy 0.900'
    """
    splits = "; ".join(
        f"{name}: {s.scored_by}, accuracy {s.accuracy:.3f}" for name, s in judgement.splits.items()
    )
    return f"{judgement.judge.describe()}; {splits}"


def suspects_of(proba: np.ndarray, labels: np.ndarray, suspects: np.ndarray | None = None) -> dict:
    """One split's suspects under out-of-sample probabilities ``proba`` (``suspects``: the filter's, when already
    known): their indices (most doubtful first), recorded and suggested labels, the probabilities of both, and
    every image's score (1 - the probability of its recorded label)."""
    if suspects is None:
        suspects = suspected_label_errors(proba, labels)
    return {
        "scores": 1 - proba[np.arange(len(labels)), labels],
        "indices": suspects.tolist(),
        "given": labels[suspects].tolist(),
        "predicted": proba[suspects].argmax(1).tolist(),
        "p": proba[suspects, labels[suspects]].tolist(),
        "p_predicted": proba[suspects].max(1).tolist(),
    }


class LabelErrors(DataCheck):
    """Suspected label errors in each split, ranked by :func:`suspected_label_errors` on out-of-sample
    probabilities (:func:`~mnistlab.quality.predictions.judged`): the first split ``folds``-fold out-of-fold,
    every other split by the mean of the first split's fold models (``cross_split``) or out-of-fold within itself.

    The judge is ``model``, or with ``"auto"`` (the default) the most accurate of
    :data:`~mnistlab.quality.predictions.JUDGE_LADDER` (logreg, mlp, cnn-fast) on a held-out fold of the data
    itself: a one-epoch CNN is the best judge of 60,000 MNIST images (99.1%) and one of the worst of 1,400 (0.63,
    flagging 313 images at precision 0.05). A judge too weak to judge
    (:func:`~mnistlab.quality.predictions.judge_verdict`) gives no verdict: nothing is flagged and the result says
    why. Each image's score is 1 - the out-of-sample probability of its recorded label.
    """

    name, title = "suspected_label_errors", "suspected label errors"
    _parameter_constraints = JUDGE_RULES

    def __init__(
        self,
        model: str = AUTO,
        folds: int = 5,
        seed: int = 0,
        cross_split: bool = True,
        min_judge_accuracy: float = MIN_JUDGE_ACCURACY,
    ) -> None:
        self.model, self.folds, self.seed, self.cross_split = model, folds, seed, cross_split
        self.min_judge_accuracy = min_judge_accuracy

    def validate(self, data: CheckedData) -> None:
        super().validate(data)
        check_judge(self.model, data)
        for position, dataset in enumerate(data.splits.values()):
            if position == 0 or not self.cross_split:
                check_folds(self.folds, dataset.labels)

    def find_issues(self, data: CheckedData) -> CheckResult:
        judgement = judged(data, self.model, self.folds, self.seed, self.cross_split, self.min_judge_accuracy)
        judge, scored = judgement.judge, judgement.splits
        title = f"{self.title} ({judged_by(judgement)})"
        context = {"judge": judge.record(scored)}
        if not judge.verdict:
            warnings.warn(f"{self.title}: NO VERDICT: {judge.caveat}", stacklevel=2)
            return CheckResult(
                self.name, title, {}, [], None, verdict=False, caveat=judge.caveat, context=context
            )
        if judge.caveat:
            warnings.warn(f"{self.title}: {judge.caveat}", stacklevel=2)
        found, rows = {}, []
        for split, dataset in data.splits.items():
            found[split] = suspects_of(scored[split].proba, dataset.labels, scored[split].suspects)
            found[split]["scored_by"] = scored[split].scored_by
            for index, given, predicted, p, p_predicted in zip(
                found[split]["indices"],
                found[split]["given"],
                found[split]["predicted"],
                found[split]["p"],
                found[split]["p_predicted"],
                strict=True,
            ):
                labels = f"{given} -> {predicted}"
                place = [(split, index)]
                rows.append(finding("suspected label error", place, labels, f"{p:.4f}", f"{p_predicted:.4f}"))
        counts = {split: len(f["indices"]) for split, f in found.items()}
        flags = data.flags({split: f["indices"] for split, f in found.items()})
        return CheckResult(
            self.name,
            title,
            counts,
            rows,
            found,
            score=1 - flags.sum() / len(data),
            example_scores=np.concatenate([f["scores"] for f in found.values()]),
            flags=flags,
            score_unit="1 - out-of-sample probability of the recorded label",
            caveat=judge.caveat,
            context=context,
        )

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        from mnistlab import viz

        shown, classes = {}, data.classes
        for split, found in (result.details or {}).items():
            if not found["indices"]:
                continue
            chosen = found["indices"][:n]
            captions = [
                f"{classes[g][:8]} -> {classes[p][:8]} {q:.2f}"
                for g, p, q in zip(found["given"], found["predicted"], found["p_predicted"], strict=False)
            ][:n]
            title = f"{split}: suspected label errors (recorded -> model, its probability)"
            shown[f"label_errors_{split}.png"] = viz.ImageGalleryDisplay(
                data.splits[split].images[chosen], captions, cols=8, title=title
            )
        return shown
