"""The published numbers of Hands-On ML chapter 3, exactly, through the mnistlab API (about a minute on 2 cores).

The other seed-001 reproductions (RandomForest comparison, full figures) are in benchmarks/accuracy.py and
`mnistlab detect`, which the README names.
"""

import pytest
from sklearn.metrics import roc_auc_score

from mnistlab import datasets, models
from mnistlab.evaluation import detector_study

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_sgd_five_detector_matches_the_book_exactly():
    train = datasets.load("mnist", "train")
    result = detector_study({"sgd": models.create("sgd")}, train.images, train.labels, positive=5)["sgd"]
    summary = result.to_dict()
    assert summary["cv_accuracy"] == [0.95035, 0.96035, 0.9604]
    assert summary["confusion_matrix"] == [[53892, 687], [1891, 3530]]
    assert summary["precision"] == 0.8370879772350012
    assert summary["recall"] == 0.6511713705958311
    assert roc_auc_score(result.y_true, result.scores) == 0.9604938554008616
