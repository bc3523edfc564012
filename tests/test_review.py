"""The review page: what health found, one image at a time; each decision saved as it is made, resumed on reopening,
and turned into a cleaned export (in a real browser, from the keyboard)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from mnistlab.serve.review import create_review_app  # noqa: E402

CLASSES = ["zero", "one", "two"]
SCREENSHOTS = Path(
    os.environ.get("MNISTLAB_SCREENSHOTS", Path(__file__).parents[1] / "reports" / "screenshots")
)


@pytest.fixture
def reviewed(tmp_path) -> tuple[Path, Path, Path]:
    """A small data file, a findings.csv about it (a suspected label error, an outlier, a duplicate pair that the
    page does not show) and where the decisions go."""
    rng = np.random.default_rng(0)
    train = Dataset(
        rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20) % 3, CLASSES, "toy", "train"
    )
    data = datasets.export(train, tmp_path / "data", "npz")
    findings = tmp_path / "findings.csv"
    findings.write_text(
        "kind,splits,indices,labels,value\n"
        "suspected label error,train,4,1 -> 2,0.0310\n"
        "exact duplicate,train train,1 2,0 2,\n"
        "outlier,train,7,one,3.20\n"
    )
    return data, findings, tmp_path / "decisions.jsonl"


def client(data, findings, decisions):
    return fastapi_testclient.TestClient(
        create_review_app(data, findings, decisions), base_url="http://localhost"
    )


def test_items_images_and_decisions(reviewed):
    page = client(*reviewed)
    items = page.get("/items").json()["items"]
    assert [(i["kind"], i["index"], i["given"], i["suggested"]) for i in items] == [
        ("suspected label error", 4, "one", "two"),
        ("outlier", 7, "one", None),
    ]
    image = page.get("/image/0.png")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    answer = page.post("/decide", json={"item": 0, "action": "relabel", "label": "two"})
    assert answer.status_code == 200 and answer.json()["decision"]["label"] == "two"
    lines = reviewed[2].read_text().splitlines()
    assert json.loads(lines[-1])["index"] == 4  # on disk before the answer
    # reopened (a new server on the same file): the decision is there
    assert client(*reviewed).get("/items").json()["items"][0]["decision"]["action"] == "relabel"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"item": 9, "action": "drop"}, 404),
        ({"item": 0, "action": "burn"}, 422),
        ({"item": 0, "action": "relabel", "label": "seven"}, 400),
        ({"item": 0, "action": "drop", "path": "/etc/passwd"}, 422),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(reviewed, body, status):
    page = client(*reviewed)
    before = reviewed[2].read_text()
    assert page.post("/decide", json=body).status_code == status
    assert reviewed[2].read_text() == before
    assert page.get("/image/5.png").status_code == 404


def test_findings_or_decisions_for_other_data_are_refused(reviewed, tmp_path):
    data, findings, decisions = reviewed
    findings.write_text("kind,splits,indices,labels,value\noutlier,train,700,one,3.2\n")
    with pytest.raises(DataFormatError, match="row 2: 'train' image '700' is not in this data set"):
        create_review_app(data, findings, decisions)
    findings.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="not a findings.csv"):
        create_review_app(data, findings, decisions)
    other = datasets.export(
        Dataset(np.zeros((20, 28, 28), np.uint8), np.arange(20) % 3, CLASSES, "toy", "train"),
        tmp_path / "o",
        "npz",
    )
    findings.write_text("kind,splits,indices,labels,value\noutlier,train,7,one,3.2\n")
    create_review_app(data, findings, decisions)  # the decisions file now belongs to the first data
    with pytest.raises(DataFormatError, match="another version"):
        create_review_app(other, findings, decisions)


def test_a_review_in_the_browser_makes_a_cleaned_export(reviewed, browser, tmp_path, capsys, command_server):
    data, findings, decisions = reviewed
    with command_server(
        "review", str(data), "--findings", str(findings), "--decisions", str(decisions)
    ) as url:
        page = browser.new_page()
        page.goto(url)
        page.locator("#progress", has_text="0 of 2").wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "review.png"))
        page.keyboard.press("s")  # the suggested label: one -> two
        page.locator("#progress", has_text="1 of 2").wait_for()
        page.keyboard.press("d")  # drop the outlier
        page.locator("#progress", has_text="2 of 2").wait_for()
        page.close()
        # the browser closed: a new page shows both decisions
        again = browser.new_page()
        again.goto(url)
        again.locator("#progress", has_text="2 of 2").wait_for()
        again.close()
    out = tmp_path / "clean"
    assert (
        main(["data", "fix", str(data), "--decisions", str(decisions), "--format", "npz", "--out", str(out)])
        == 0
    )
    assert "1 relabelled, 1 dropped" in capsys.readouterr().out
    cleaned = datasets.load(out / "train.npz")
    assert len(cleaned) == 19 and cleaned.labels[4] == 2
