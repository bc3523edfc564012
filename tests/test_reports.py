"""The HTML report of a run: every section, the run's own numbers, nothing fetched from a network."""

import base64
import io
import json
import re

import numpy as np
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from mnistlab.cli.main import main

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    from mnistlab.workflows import evaluate_run, train_model

    out = tmp_path_factory.mktemp("report") / "run"
    train_model("mnist", "mlp", params={"epochs": 2, "threads": 2}, limit=3000, out=out, verbose=0)
    evaluate_run(out)
    return out


def test_report_holds_every_section_with_the_runs_numbers(evaluated_run, capsys):
    assert main(["report", str(evaluated_run)]) == 0
    page = evaluated_run / "report.html"
    assert page.stat().st_size < 3_000_000
    soup = BeautifulSoup(page.read_text(), "html.parser")
    for section in ("headline", "data", "model", "training", "evaluation"):
        assert soup.find("section", id=section) is not None, section
    metrics = json.loads((evaluated_run / "metrics.json").read_text())["evaluation"]
    assert soup.find(id="test-accuracy").text == f"{metrics['accuracy']:.4f}"
    assert soup.find(id="test-loss").text == f"{metrics['log_loss']:.4f}"
    assert soup.find(id="macro-f1").text == f"{metrics['report']['macro avg']['f1-score']:.4f}"
    rows = soup.find(id="classification-report").find_all("tr")
    assert len(rows) == 1 + 10 + 2, "header, ten classes, macro and weighted averages"
    assert len(soup.find_all("svg")) >= 5, "class balance, three confusion matrices, learning curves"


def test_report_fetches_nothing_and_its_images_decode(evaluated_run):
    main(["report", str(evaluated_run)])
    html = (evaluated_run / "report.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["img", "script", "link", "a", "image"]):
        for attribute in ("src", "href", "xlink:href"):
            value = tag.get(attribute) or ""
            assert not re.match(r"(https?:)?//", value), value
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    images = [img["src"] for img in soup.find_all("img")]
    assert len(images) >= 4
    for src in images:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()


def test_report_bad_inputs(evaluated_run, tmp_path, capsys):
    (tmp_path / "notarun").mkdir()
    assert main(["report", str(tmp_path / "notarun")]) == 1
    assert "config.json" in capsys.readouterr().err
    assert main(["report", str(evaluated_run), "--out", str(tmp_path)]) == 1
    assert "is a folder; --out names the .html file" in capsys.readouterr().err
    unevaluated = tmp_path / "fresh"
    from mnistlab.workflows import train_model

    train_model("mnist", "naive-bayes", limit=600, out=unevaluated, verbose=0)
    assert main(["report", str(unevaluated)]) == 1
    assert "not evaluated yet; run `mnistlab evaluate" in capsys.readouterr().err


def test_leaderboard_rows_match_the_runs_and_link_their_reports(evaluated_run, tmp_path, capsys):
    out = tmp_path / "board.html"
    assert main(["report", str(evaluated_run.parent), "--compare", "--out", str(out)]) == 0
    soup = BeautifulSoup(out.read_text(), "html.parser")
    rows = soup.select("table.leaderboard tbody tr")
    metrics = json.loads((evaluated_run / "metrics.json").read_text())
    assert len(rows) == 1 and rows[0].find_all("td")[2].text == f"{metrics['test_accuracy']:.4f}"
    link = rows[0].find("a")["href"]
    assert (out.parent / link).resolve() == (evaluated_run / "report.html").resolve()
    assert main(["report", str(tmp_path / "nothing-here"), "--compare"]) == 1
    assert "neither a run folder nor a folder of runs" in capsys.readouterr().err


def test_the_report_renders_in_a_real_browser(evaluated_run, browser):
    """Headless Chromium draws the page without a script error; the screenshot must not be blank."""
    main(["report", str(evaluated_run)])
    page = browser.new_page(viewport={"width": 1200, "height": 2000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((evaluated_run / "report.html").as_uri())
    image = Image.open(io.BytesIO(page.screenshot())).convert("L")
    page.close()
    assert image.size == (1200, 2000) and errors == []
    assert len(np.unique(np.asarray(image))) > 50, "more than a blank page"


def test_the_leaderboard_sorts_by_the_clicked_column(evaluated_run, tmp_path, browser):
    """Two runs, best first; a click on "test accuracy" puts the worse one first, a second click reverses. The
    second run is a copy of the first whose recorded accuracy is set lower: the order is what is tested here."""
    import shutil

    for name in ("better", "worse"):
        shutil.copytree(evaluated_run, tmp_path / "runs" / name)
    metrics_file = tmp_path / "runs" / "worse" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["evaluation"]["accuracy"] = metrics["test_accuracy"] = metrics["evaluation"]["accuracy"] - 0.1
    metrics_file.write_text(json.dumps(metrics))
    out = tmp_path / "board.html"
    assert main(["report", str(tmp_path / "runs"), "--compare", "--out", str(out)]) == 0
    page = browser.new_page()
    page.goto(out.as_uri())
    table = page.locator("table.leaderboard").first
    names = lambda: table.locator("tbody tr td:nth-child(1)").all_inner_texts()  # noqa: E731
    assert names() == ["better", "worse"], "best first"
    table.locator("th", has_text="test accuracy").click()
    assert names() == ["worse", "better"]
    table.locator("th", has_text="test accuracy").click()
    assert names() == ["better", "worse"]
    page.close()
