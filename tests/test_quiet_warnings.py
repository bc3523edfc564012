"""Library warnings a user cannot act on are not printed: they are fixed at their cause or counted and recorded
where they happen (scikit-learn's ConvergenceWarning of graph --compare's lasso and of logreg)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smooth_images):
    """A small MLP run on smooth blobs."""
    from mnistlab import workflows

    root = tmp_path_factory.mktemp("quiet")
    images, labels = smooth_images(300, seed=0)
    np.savez(root / "blobs.npz", images=images, labels=labels, classes=np.array(["left", "middle", "right"]))
    run = root / "run"
    workflows.train_model(
        str(root / "blobs.npz"),
        "mlp",
        test_fraction=0.25,
        params={"epochs": 2, "threads": 1},
        out=run,
        verbose=0,
    )
    return run, None


def test_graph_compare_counts_the_lassos_iteration_stops_instead_of_printing_them(
    trained, tmp_path, monkeypatch
):
    """scikit-learn's ConvergenceWarning of the lasso graph (a user cannot act on it) is recorded, not shown."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from mnistlab import representations, workflows

    built = representations.similarity_graph

    def warns_like_the_lasso(features, method="knn", **kwargs):
        if method == "lasso":
            for _ in range(3):  # three images' regressions stopped at the iteration limit
                warnings.warn("Objective did not converge.", ConvergenceWarning, stacklevel=2)
        return built(features, method, **kwargs)

    monkeypatch.setattr(representations, "similarity_graph", warns_like_the_lasso)
    run, _ = trained
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rows = workflows.graph_compare(run, n=40, lasso_n=40, train_n=100, out=tmp_path)
    assert all(row["lasso_stopped"] >= 3 for row in rows if row["method"] == "lasso")
    assert {row["lasso_stopped"] for row in rows if row["method"] != "lasso"} == {0}
    assert "stopped at scikit-learn's iteration limit" in (tmp_path / "graph_compare.md").read_text()


@pytest.mark.slow
def test_logreg_converges_on_a_few_thousand_images_without_a_warning(real_data):
    """The registered logreg stopped at 200 lbfgs steps with a ConvergenceWarning on 5,000 Fashion-MNIST images
    (it needs 332 there); its recipe now lets it converge."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from mnistlab import models

    train = real_data("fashion-mnist-kaggle").subset(slice(0, 5000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fitted = models.create("logreg").fit(train.images, train.labels)
    assert fitted[-1].n_iter_[0] < fitted[-1].max_iter
