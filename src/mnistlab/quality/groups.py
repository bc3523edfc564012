"""Underperforming groups: regions of the data where a model is wrong much more often than elsewhere (a style of
writing, a kind of garment, a batch of scans), found as clusters of the pixels' PCA space whose out-of-sample
error rate is well above the data set's. cleanlab's Datalab looks for the same with its own clustering of a kNN
graph; k-means is used here (its clusters are compact regions a person can look at)."""

from __future__ import annotations

import numpy as np

from mnistlab.params import integer, real, rule_set
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck
from mnistlab.quality.features import pixel_features
from mnistlab.quality.label_errors import JUDGE_RULES, check_judge, judged_by
from mnistlab.quality.predictions import AUTO, MIN_JUDGE_ACCURACY, judged


def group_errors(clusters: np.ndarray, wrong: np.ndarray, min_size: int = 30) -> list[dict]:
    """Per cluster (of at least ``min_size`` images): its size, error rate, and the one-sided binomial p-value of
    seeing that many errors at the data set's error rate. Worst first.

    Examples
    --------
    >>> wrong = np.zeros(200, bool); wrong[:10] = True  # cluster 0 holds all the mistakes
    >>> [(g["cluster"], g["size"], g["error_rate"]) for g in group_errors(np.repeat([0, 1, 2, 3], 50), wrong)][:2]
    [(0, 50, 0.2), (1, 50, 0.0)]
    """
    from scipy.stats import binom

    overall = float(wrong.mean())
    groups = []
    for cluster in np.unique(clusters):
        members = clusters == cluster
        size, errors = int(members.sum()), int(wrong[members].sum())
        if size < min_size:
            continue
        p = float(binom.sf(errors - 1, size, overall)) if errors else 1.0
        groups.append({"cluster": int(cluster), "size": size, "error_rate": errors / size, "p_value": p})
    return sorted(groups, key=lambda g: (-g["error_rate"], g["cluster"]))


class UnderperformingGroups(DataCheck):
    """Clusters (k-means, ``clusters`` of them, in the pixels' PCA space) where the out-of-sample error rate of
    ``model`` (the same probabilities as :class:`~mnistlab.quality.LabelErrors`: computed once when both run) is
    at least ``ratio`` times the data set's and unlikely by chance (binomial test, p below 0.001 over the number
    of clusters). Images of a flagged cluster are flagged; each image's score is its cluster's error rate over
    the data set's; the data-set score is the worst cluster's accuracy over the data set's."""

    name, title = "underperforming_groups", "underperforming groups"
    _parameter_constraints = rule_set(
        **JUDGE_RULES,
        clusters=integer(low=1),
        min_size=integer(low=1),
        ratio=real(low=1, low_open=True),  # times the overall error rate
    )

    def __init__(
        self,
        model: str = AUTO,
        folds: int = 5,
        seed: int = 0,
        cross_split: bool = True,
        clusters: int = 50,
        ratio: float = 2.0,
        min_size: int = 30,
        min_judge_accuracy: float = MIN_JUDGE_ACCURACY,
    ) -> None:
        self.model, self.folds, self.seed, self.cross_split = model, folds, seed, cross_split
        self.min_judge_accuracy = min_judge_accuracy
        self.clusters, self.ratio, self.min_size = clusters, ratio, min_size

    def validate(self, data: CheckedData) -> None:
        super().validate(data)
        check_judge(self.model, data)

    def find_issues(self, data: CheckedData) -> CheckResult:
        from sklearn.cluster import KMeans

        judgement = judged(data, self.model, self.folds, self.seed, self.cross_split, self.min_judge_accuracy)
        scored, context = judgement.splits, {"judge": judgement.judge.record(judgement.splits)}
        if not judgement.judge.verdict:  # its errors are everywhere: no cluster's error rate means anything
            title = f"{self.title} ({judged_by(judgement)})"
            caveat = judgement.judge.caveat
            return CheckResult(self.name, title, {}, [], None, verdict=False, caveat=caveat, context=context)
        predicted = np.concatenate([scored[split].proba.argmax(axis=1) for split in data.splits])
        wrong = predicted != data.labels
        n_clusters = max(1, min(self.clusters, len(data) // self.min_size))
        kmeans = KMeans(n_clusters, n_init=1, random_state=self.seed)
        assigned = kmeans.fit_predict(pixel_features(data, self.seed))
        groups = group_errors(assigned, wrong, self.min_size)
        overall = float(wrong.mean())
        by_cluster = {g["cluster"]: g for g in groups}
        flagged = [
            g
            for g in groups
            if g["error_rate"] >= self.ratio * overall and g["p_value"] < 0.001 / n_clusters and overall < 1
        ]
        flags = np.isin(assigned, [g["cluster"] for g in flagged])
        rate = np.array([by_cluster.get(c, {"error_rate": overall})["error_rate"] for c in range(n_clusters)])
        rows = [self._row(data, assigned, g) for g in flagged]
        worst_accuracy = min((1 - g["error_rate"] for g in groups), default=1 - overall)
        return CheckResult(
            self.name,
            f"{self.title} (of {n_clusters} clusters, error >= {self.ratio}x the overall {overall:.4f}; "
            f"{judged_by(judgement)})",
            {"groups": len(flagged), "images": int(flags.sum())},
            rows,
            {
                "groups": groups,
                "flagged": flagged,
                "clusters": assigned,
                "wrong": wrong,
                "predicted": predicted,
            },
            score=min(1.0, worst_accuracy / max(1 - overall, 1e-12)),
            example_scores=rate[assigned] / max(overall, 1e-12),
            flags=flags,
            score_unit="its cluster's out-of-sample error rate over the data set's",
            score_name="worst cluster's accuracy over the data set's",
            context=context,
        )

    @staticmethod
    def _row(data: CheckedData, assigned: np.ndarray, group: dict) -> dict:
        members = np.flatnonzero(assigned == group["cluster"])
        places = [data.locate(int(i)) for i in members]
        common = np.bincount(data.labels[members], minlength=len(data.classes)).argmax()
        return {
            "kind": "underperforming group",
            "splits": " ".join(s for s, _ in places),
            "indices": " ".join(str(i) for _, i in places),
            "labels": f"mostly {data.classes[common]}",
            "value": f"error {group['error_rate']:.3f} over {group['size']} images",
        }

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        from mnistlab import viz

        shown = {}
        details = result.details
        if details is None:
            return shown
        for rank, group in enumerate(details["flagged"][:3]):
            members = np.flatnonzero(details["clusters"] == group["cluster"])
            wrong = members[details["wrong"][members]]
            right = members[~details["wrong"][members]]
            # half its mistakes, then members the model got right: what the group looks like, and where it fails
            mistakes = wrong[: max(n // 2, n - len(right))]
            members = np.concatenate([mistakes, right[: n - len(mistakes)]])
            captions = [
                f"{data.classes[data.labels[i]][:9]} -> {data.classes[details['predicted'][i]][:9]}"
                for i in members
            ]
            title = (
                f"group {rank + 1}: error {group['error_rate']:.1%} over {group['size']} images "
                "(recorded -> model; red: wrong)"
            )
            shown[f"group_{rank + 1}.png"] = viz.ImageGalleryDisplay(
                data.images[members], captions, details["wrong"][members].tolist(), cols=8, title=title
            )
        return shown
