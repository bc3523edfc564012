"""Pages link to run folders by their names: a name is data, never a scheme, a fragment or a query."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from mnistlab import datasets

bs4 = pytest.importorskip("bs4")


@pytest.mark.parametrize("name", ["javascript:alert(1)", "a #1?x=2 50% off"])
def test_every_run_name_becomes_a_link_to_its_own_page(tmp_path, name, blobs):
    from mnistlab.workflows import evaluate_run, leaderboard, train_model

    X, y = blobs(60)
    datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "toy", "train"), tmp_path / "data", "npz")
    run = tmp_path / "runs" / name
    train_model(str(tmp_path / "data" / "train.npz"), "naive-bayes", test_fraction=0.3, out=run, verbose=0)
    evaluate_run(run)
    page = leaderboard([run], tmp_path / "board" / "leaderboard.html")
    soup = bs4.BeautifulSoup(page.read_text(), "html.parser")
    links = [a["href"] for a in soup.find_all("a") if a["href"].endswith(".html")]
    assert links, "the leaderboard links each run"
    for href in links:
        assert href.startswith("./") and not urlsplit(href).scheme and not urlsplit(href).fragment
        assert not urlsplit(href).query
        target = Path(unquote(urlsplit(urljoin(page.as_uri(), href)).path))
        assert target.is_file() and target.parent.name == name
