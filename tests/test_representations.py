"""Similarity graphs and the mistake-detection comparison: synthetic features where the right answer is known,
then a small real model through the command line."""

import json

import numpy as np
import pytest

from mnistlab import models, representations, runs
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.representations import GraphAnalysis, detection_metrics, similarity_graph


def two_clusters(n=20, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, (n, 8)) + np.linspace(-3, 3, 8)  # each cluster a distinct profile across features
    b = rng.normal(0, 1, (n, 8)) + np.linspace(3, -3, 8)
    return np.concatenate([a, b]), np.repeat([0, 1], n)


@pytest.mark.parametrize("method", ["correlation", "knn"])
def test_edges_stay_inside_tight_clusters(method):
    X, y = two_clusters()
    graph = similarity_graph(X, method, k=5)
    assert len(graph.edges) >= 40 and np.all(y[graph.edges[:, 0]] == y[graph.edges[:, 1]])


def test_the_lasso_recovers_planted_neighbours():
    """Each image of a group is a sparse mix of its two partners plus a little noise: the lasso finds them."""
    rng = np.random.default_rng(1)
    basis = rng.normal(0, 1, (10, 200))
    X = np.concatenate([basis + rng.normal(0, 0.05, basis.shape) for _ in range(3)])  # 3 noisy copies of each
    graph = similarity_graph(X, "lasso", rule="or")
    partners = {
        tuple(sorted((i % 10 + 10 * a, i % 10 + 10 * b)))
        for i in range(10)
        for a in range(3)
        for b in range(3)
        if a < b
    }
    found = {tuple(e) for e in graph.edges.tolist()}
    assert partners <= found, "every planted pair is an edge"
    assert len(found - partners) <= len(partners) // 4, "few edges beyond them"


def test_a_lasso_that_selects_nothing_says_so():
    with pytest.raises(MnistlabError, match="selected no neighbour for any image at alpha=100"):
        similarity_graph(np.random.default_rng(0).normal(size=(10, 30)), "lasso", alpha=100)


def test_the_bridge_of_a_barbell_has_the_highest_betweenness():
    _, y = two_clusters(10)
    bridge_graph = representations.SimilarityGraph(
        21,
        np.array(
            [(i, j) for i in range(10) for j in range(i + 1, 10)]
            + [(i, j) for i in range(11, 21) for j in range(i + 1, 21)]
            + [(0, 10), (10, 11)]
        ),
        "knn",
    )
    labels = np.concatenate([y[:10], [0], y[10:]])
    result = GraphAnalysis(bridge_graph, labels, labels, ["a", "b"], "toy")
    assert int(np.argmax(result.betweenness())) == 10
    assert result.summary()["components"] == 1 and result.summary()["edges"] == 92


def test_a_score_equal_to_the_error_indicator_has_auc_1():
    wrong = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 0], bool)
    metrics = detection_metrics(wrong.astype(float), wrong)
    assert (
        metrics["roc_auc"] == 1.0
        and metrics["average_precision"] == 1.0
        and metrics["error_rate_top10"] == 1.0
    )


def test_bad_graph_arguments():
    X, _ = two_clusters(5)
    for kwargs, message in [
        ({"method": "spectral"}, "method='spectral'; expected one of"),
        ({"method": "knn", "k": 10}, "k=10; expected 1..9"),
    ]:
        with pytest.raises(ParameterError, match=message):
            similarity_graph(X, **kwargs)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from mnistlab.workflows import train_model

    out = tmp_path_factory.mktemp("graph") / "run"
    train_model("mnist", "cnn-kaggle", params={"epochs": 1, "threads": 2}, limit=3000, out=out, verbose=0)
    return out


@pytest.mark.realdata
def test_graph_command_on_a_real_model(small_run, tmp_path, capsys):
    assert (
        main(["graph", str(small_run), "--method", "correlation", "--n", "60", "--out", str(tmp_path)]) == 0
    )
    printed = capsys.readouterr().out
    assert "relu / correlation: 60 images" in printed and "betweenness as a mistake detector" in printed
    summary = json.loads((tmp_path / "graph_relu_correlation.json").read_text())
    assert summary["nodes"] == 60 and 0 <= summary["edge_purity"] <= 1
    assert (tmp_path / "graph_relu_correlation.png").stat().st_size > 10_000
    assert main(["graph", str(small_run), "--layer", "fc9"]) == 1
    assert (
        "layer 'fc9' is not in this TorchClassifier; its layers: input, scaled, conv, dense, relu, logits"
        in capsys.readouterr().err
    )
    assert main(["graph", str(small_run), "--n", "100000"]) == 1
    assert "--n 100000; expected 3..500 images" in capsys.readouterr().err


@pytest.mark.realdata
def test_graph_comparison_table(small_run, tmp_path, capsys):
    code = main(["graph", str(small_run), "--compare", "--n", "60", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    lines = (tmp_path / "graph_compare.md").read_text().splitlines()
    assert (
        lines[0].startswith("| source | method |")
        and len([row for row in lines if row.startswith("| input")]) == 3
    )
    rows = (tmp_path / "graph_compare.csv").read_text().splitlines()
    assert len(rows) == 1 + 5 * 3, "5 sources x 3 methods"
    assert "beat the best baseline" in capsys.readouterr().out


def test_features_from_a_scikit_learn_pipeline(blobs):
    X, y = blobs(60)
    clf = models.create("logreg").fit(X, y)
    assert representations.layers(clf) == {"input": 784, "scaled": 784, "scores": 3}
    assert representations.features(clf, X[:5], "scores").shape == (5, 3)
    with pytest.raises(ParameterError, match="its layers: input, scaled, scores"):
        representations.features(clf, X[:5], "relu")
    from mnistlab.errors import DataFormatError

    with pytest.raises(
        DataFormatError, match="images of shape \\(27, 27\\) \\(729 values each\\); this model takes 784"
    ):
        representations.features(clf, np.zeros((2, 27, 27)), "scaled")
    assert runs is not None


@pytest.mark.realdata
def test_feature_map_and_panel(small_run, tmp_path):
    from PIL import Image

    from mnistlab.workflows import feature_map, graph_panel

    path = feature_map(small_run, method="pca", n=200, out=tmp_path)
    assert path.name == "map_relu_pca.png" and Image.open(path).size[0] > 500
    panel = graph_panel(small_run, n=40, out=tmp_path)
    assert Image.open(panel).size[1] > 1500, "5 sources x 3 methods"
    assert len(list(tmp_path.glob("graph_*_central.png"))) == 15
    with pytest.raises(ParameterError, match="method='umap'; expected one of 'pca', 'tsne'"):
        representations.embed(np.zeros((10, 3)), "umap")
