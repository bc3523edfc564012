"""The review page: what health found, one image at a time; each decision saved as it is made, resumed on reopening,
and turned into a cleaned export (in a real browser, from the keyboard). To help decide: typical images of the
recorded and the suggested class (from per_image.csv), both labels' probabilities, and a filter by check."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError
from tests.test_health_own_data import small_digits

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from mnistlab.serve.app import create_review_app  # noqa: E402

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


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"item": 0, "action": "keep", "action": "drop"}', JSON, 422),  # which one? neither
        (b'{"item": "0", "action": "drop"}', JSON, 422),  # no conversion of types: the web app's rule
        (b'{"item": true, "action": "drop"}', JSON, 422),
        (b'{"item": 0.0, "action": "drop"}', JSON, 422),
        (b'{"item": 0, "action": "relabel", "label": 2}', JSON, 422),
        (b'{"item": 0, "action": "drop", "reason": NaN}', JSON, 422),
        (b"[" * 10_000, JSON, 422),
        (b'{"item": 0, "action": "drop", "reason": "' + b"x" * 20_000 + b'"}', JSON, 413),
        (b"", JSON, 422),
        (b'{"item": 0, "action": "drop"}', {"content-type": "text/plain"}, 415),
        (b'{"item": 0, "action": "drop"}', {}, 415),
    ],
)
def test_malformed_decision_bodies_are_refused_by_the_strict_json_rule(reviewed, content, headers, status):
    page = client(*reviewed)
    before = reviewed[2].read_text()
    answer = page.post("/decide", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"] and reviewed[2].read_text() == before
    assert page.post("/decide", json={"item": 0, "action": "drop"}).status_code == 200


def test_the_review_app_is_hardened_as_the_prediction_app_is(reviewed):
    """The two apps share their hardening (mnistlab.serve.web): every answer of the review app, its errors too,
    carries the security headers, a foreign Host is refused, and it serves no API pages."""
    page = client(*reviewed)
    answers = [page.get("/"), page.get("/items"), page.get("/nowhere"), page.post("/decide", content=b"x")]
    answers.append(page.get("/items", headers={"host": "attacker.example"}))
    assert [answer.status_code for answer in answers] == [200, 200, 404, 415, 400]
    for answer in answers:
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
    for path in ("/docs", "/redoc", "/openapi.json", "/static/app.js"):
        assert page.get(path).status_code == 404, path


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


# -- helping to decide: typical examples, probabilities, a filter by check ---------------------------------------

CODED = 30  # images of one grey level each (image i: 6 * i), so a strip tells which images it shows


@pytest.fixture
def coded(tmp_path) -> tuple[Path, Path, Path]:
    """30 images whose grey level names them (labels i % 3), findings in the new format (two suspected label
    errors with both probabilities, two outliers) and a per_image.csv beside them that flags some images."""
    images = np.repeat(np.arange(CODED, dtype=np.uint8)[:, None, None] * 6, 28, 1).repeat(28, 2)
    train = Dataset(images, np.arange(CODED) % 3, CLASSES, "coded", "train")
    data = datasets.export(train, tmp_path / "data", "npz")
    findings = tmp_path / "health" / "findings.csv"
    findings.parent.mkdir()
    findings.write_text(
        "kind,splits,indices,labels,value,suggested_probability\n"
        "suspected label error,train,4,1 -> 2,0.0310,0.9120\n"
        "outlier,train,7,one,3.20,\n"
        "suspected label error,train,5,2 -> 0,0.1000,0.8000\n"
        "outlier,train,10,one,2.90,\n"
    )
    write_per_image(findings.parent / "per_image.csv", train.labels, flagged={24, 27, 4, 5, 7, 10})
    return data, findings, tmp_path / "decisions.jsonl"


def write_per_image(path: Path, labels: np.ndarray, flagged: set[int], split: str = "train") -> None:
    """A per_image.csv as health writes it: the label check scores image i as 1 - (i + 1) / 100 (the judge is
    surest of the last images), the odd-image check flags ``flagged``."""
    rows = [
        "split,index,label,suspected_label_errors,suspected_label_errors flagged,odd_images,odd_images flagged"
    ]
    for i, label in enumerate(labels):
        flag = int(i in flagged)
        rows.append(f"{split},{i},{CLASSES[label]},{1 - (i + 1) / 100:.6f},0,{flag}.0,{flag}")
    path.write_text("\n".join(rows) + "\n")


def shown_in(strip: bytes) -> list[int]:
    """Which coded images a strip shows, left to right (each 84 pixels wide, 4 between; ink inverted)."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(strip)))
    assert pixels.shape[0] == 84 and (pixels.shape[1] + 4) % 88 == 0
    return [int(255 - pixels[42, 42 + 88 * k]) // 6 for k in range((pixels.shape[1] + 4) // 88)]


def test_examples_are_the_unflagged_images_the_judge_is_surest_of(coded):
    page = client(*coded)
    answer = page.get("/examples/0.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    # class zero: images 0, 3, ..., 27; the judge surest of the last ones (lowest score first), but 27 and 24 are
    # flagged by another check
    assert shown_in(answer.content) == [21, 18, 15, 12, 9, 6]
    # class one: 4, 7 and 10 are findings (and flagged), never shown, though the judge is not sure of them
    assert shown_in(page.get("/examples/1.png").content) == [28, 25, 22, 19, 16, 13]
    assert "judge was surest" in page.get("/items").json()["examples"]["chosen"]
    for bad, status in [("3", 404), ("-1", 404), ("99999999999", 404), ("one", 422), ("..%2Fdata", 404)]:
        assert page.get(f"/examples/{bad}.png").status_code == status, bad


def test_examples_without_per_image_csv_are_the_first_unflagged_ones(coded):
    data, findings, decisions = coded
    (findings.parent / "per_image.csv").unlink()  # an older health run, or only findings.csv copied
    page = client(data, findings, decisions)
    # in split order, without the images the findings name (4, 7, 10; 5 is of class two)
    assert shown_in(page.get("/examples/1.png").content) == [1, 13, 16, 19, 22, 25]
    assert shown_in(page.get("/examples/2.png").content) == [2, 8, 11, 14, 17, 20]
    assert "first train images" in page.get("/items").json()["examples"]["chosen"]
    # a per_image.csv without the label check's scores: unflagged images in split order (0 and 3 flagged)
    labels = np.arange(CODED) % 3
    lines = [",".join(["split", "index", "label", "odd_images", "odd_images flagged"])]
    lines += [f"train,{i},{CLASSES[labels[i]]},0.0,{int(i in (0, 3))}" for i in range(CODED)]
    (findings.parent / "per_image.csv").write_text("\n".join(lines) + "\n")
    assert shown_in(client(data, findings, decisions).get("/examples/0.png").content) == [
        6,
        9,
        12,
        15,
        18,
        21,
    ]


def test_label_findings_carry_both_probabilities_and_old_findings_still_load(coded):
    items = client(*coded).get("/items").json()["items"]
    assert [
        (i["given"], i["given_probability"], i["suggested"], i["suggested_probability"]) for i in items
    ] == [
        ("one", 0.031, "two", 0.912),
        ("one", None, None, None),
        ("two", 0.1, "zero", 0.8),
        ("one", None, None, None),
    ]
    assert [(i["given_class"], i["suggested_class"]) for i in items] == [(1, 2), (1, None), (2, 0), (1, None)]
    data, findings, decisions = coded
    findings.write_text(  # a findings.csv from before the column
        "kind,splits,indices,labels,value\nsuspected label error,train,4,1 -> 2,0.0310\noutlier,train,7,one,3.20\n"
    )
    old = client(data, findings, decisions).get("/items").json()["items"]
    assert old[0]["suggested"] == "two" and old[0]["given_probability"] == 0.031
    assert old[0]["suggested_probability"] is None and old[1]["given_probability"] is None
    for value, suggested in [("0.03", "high"), ("0.03", "1.5"), ("nan", "0.9")]:
        findings.write_text(
            f"kind,splits,indices,labels,value,suggested_probability\nsuspected label error,train,4,1 -> 2,{value},{suggested}\n"
        )
        with pytest.raises(
            DataFormatError, match=r"findings.csv, row 2: .*expected a probability from 0 to 1"
        ):
            create_review_app(data, findings, decisions)


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_health_then_review_shows_the_judges_probabilities_and_unflagged_examples(tmp_path):
    """The real path: health's findings.csv and per_image.csv, read by the review page."""
    images, labels, _ = small_digits(300, flips=9)
    classes = [str(k) for k in range(10)]
    data = datasets.export(Dataset(images, labels, classes, "digits", "train"), tmp_path / "d", "npz")
    out = tmp_path / "health"
    args = [
        "health",
        str(data),
        "--checks",
        "label,odd",
        "--model",
        "logreg",
        "--folds",
        "3",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    page = client(data, out / "findings.csv", tmp_path / "decisions.jsonl")
    items = [i for i in page.get("/items").json()["items"] if i["kind"] == "suspected label error"]
    assert items
    per_image = np.genfromtxt(out / "per_image.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    for item in items:
        # the suggested class is the judge's most probable one: at least as probable as the recorded one
        assert 0 <= item["given_probability"] <= item["suggested_probability"] <= 1
        score = per_image["suspected_label_errors"][item["index"]]
        assert item["given_probability"] == pytest.approx(1 - score, abs=1e-4)
    flagged = set(np.flatnonzero(per_image["suspected_label_errors_flagged"]))
    flagged |= set(np.flatnonzero(per_image["odd_images_flagged"]))
    from mnistlab.serve.review import typical_examples

    chosen, _ = typical_examples(datasets.load_splits(data), out / "per_image.csv", [])
    for k, shown in enumerate(chosen):
        assert len(shown) == 6 and not set(shown.tolist()) & flagged and (labels[shown] == k).all()
        assert page.get(f"/examples/{k}.png").status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda rows: rows.__setitem__(3, rows[3].replace("train,", "valid,", 1)),
            "row 4: 'valid' image '2' is not",
        ),
        (
            lambda rows: rows.__setitem__(3, rows[3].replace(",2,", ",99,", 1)),
            "row 4: 'train' image '99' is not",
        ),
        (lambda rows: rows.pop(), r"not every image is there \(train 29 of 30\)"),
        (lambda rows: rows.append(rows[5]), "row 32: train image 4 again"),
        (
            lambda rows: rows.__setitem__(2, rows[2].replace(",one,", ",zero,")),
            "row 3: train image 1 is labelled 'zero'",
        ),
        (
            lambda rows: rows.__setitem__(2, rows[2][:-1] + "yes"),
            "row 3: 'odd_images flagged' is 'yes'; expected 0 or 1",
        ),
        (
            lambda rows: rows.__setitem__(2, rows[2].replace("0.98", "x")),
            "row 3: 'suspected_label_errors' is 'x0000'; expected a number",
        ),
        (lambda rows: rows.__setitem__(2, "train,1,one"), "row 3: a row of 3 fields; the header has 7"),
        (lambda rows: rows.__setitem__(0, "a,b,c"), "not a per_image.csv"),
    ],
)
def test_a_per_image_csv_for_other_data_or_malformed_is_refused_naming_the_row(coded, change, message):
    """Wrong examples would mislead a decision: a per_image.csv that does not fit the data stops the page at start,
    naming the file and row (delete it to review without it)."""
    data, findings, decisions = coded
    per_image = findings.parent / "per_image.csv"
    rows = per_image.read_text().splitlines()
    change(rows)
    per_image.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=f"per_image.csv.*{message}"):
        create_review_app(data, findings, decisions)


def test_the_filter_keeps_the_review_inside_one_check(coded, browser, command_server):
    """In a browser: filtered to the outliers, the progress line counts them, the page resumes at the first
    undecided one and the arrows stay inside them; a suspected label error shows both labels' probabilities and
    the typical images of both classes."""
    from playwright.sync_api import expect

    data, findings, decisions = coded
    client(*coded).post("/decide", json={"item": 1, "action": "keep"})  # the first outlier, decided before
    with command_server(
        "review", str(data), "--findings", str(findings), "--decisions", str(decisions)
    ) as url:
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.goto(url)
        page.locator("#progress", has_text="1 of 4 decided").wait_for()
        assert page.locator("#what").inner_text() == "1/4: suspected label error (train image 4)"
        given = page.locator("#given-examples figcaption").inner_text()
        suggested = page.locator("#suggested-examples figcaption").inner_text()
        assert given == "recorded label: one, probability 0.03; typical images of one:"
        assert suggested == "suggested label: two, probability 0.91; typical images of two:"
        # the strip of six examples has loaded (not wait_for_function: the page's CSP forbids its eval)
        expect(page.locator("#suggested-examples img")).to_have_js_property("naturalWidth", 6 * 88 - 4)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "review-examples.png"))
        page.get_by_role("button", name="suspected label error (2)").wait_for()
        page.get_by_role("button", name="outlier (2)").click()
        page.locator("#progress", has_text="1 of 2 decided (outlier)").wait_for()
        assert page.locator("#what").inner_text() == "2/2: outlier (train image 10)"  # the first undecided
        assert page.locator("#suggested-examples").is_hidden()
        page.keyboard.press("ArrowRight")  # the last outlier: stays (not the label errors after it)
        assert page.locator("#what").inner_text() == "2/2: outlier (train image 10)"
        page.keyboard.press("ArrowLeft")
        assert page.locator("#what").inner_text() == "1/2: outlier (train image 7)"
        page.keyboard.press("ArrowLeft")
        assert page.locator("#what").inner_text() == "1/2: outlier (train image 7)"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("d")
        page.locator("#progress", has_text="2 of 2 decided (outlier)").wait_for()
        page.get_by_role("button", name="all (4)").click()
        page.locator("#progress", has_text="2 of 4 decided").wait_for()
        assert page.locator("#what").inner_text() == "1/4: suspected label error (train image 4)"
        page.close()
    lines = [json.loads(line) for line in decisions.read_text().splitlines()[1:]]
    assert [(d["index"], d["action"]) for d in lines] == [(7, "keep"), (10, "drop")]
