"""Run files that are tampered with or merely odd: every field of config.json, metrics.json and history.json
gives a one-line error naming the file and field (or works), never a traceback; a config never builds a network
its weights cannot fill; a skops archive cannot multiply its arrays in memory."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnistlab import models, runs, viz
from mnistlab.errors import MnistlabError, RunError
from tests.hostile.conftest import replace_field

FUZZ = settings(
    max_examples=int(os.environ.get("MNISTLAB_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def originals(tmp_path_factory, blobs):
    """A PyTorch run (with history) and a scikit-learn run, both evaluated (metrics with an evaluation)."""
    from mnistlab.evaluation import evaluate_estimator

    root = tmp_path_factory.mktemp("runs")
    X, y = blobs(90)
    made = {}
    for name, params in (("mlp", {"epochs": 2, "threads": 1, "validation_split": 0.2}), ("logreg", {})):
        estimator = models.create(name, **params).fit(X, y)
        evaluation = evaluate_estimator(estimator, X, y, ["a", "b", "c"]).to_dict(4)
        metrics = {"test_accuracy": evaluation["accuracy"], "n_test": 90, "evaluation": evaluation}
        runs.save(root / name, estimator, model=name, data="toy", classes=["a", "b", "c"], metrics=metrics)
        made[name] = root / name
    return made


def _paths(document, prefix=()):
    """Every (path, value) in a JSON document, parents before children."""
    yield prefix, document
    items = (
        document.items()
        if isinstance(document, dict)
        else enumerate(document)
        if isinstance(document, list)
        else []
    )
    for key, value in items:
        yield from _paths(value, (*prefix, key))


def _consume(folder):
    """What reads run files: loading, listing, the web app's model description, the learning curves."""
    run = runs.load_run(folder)
    runs.list_runs(folder.parent)
    if run.history:
        viz.LearningCurveDisplay.from_history(run.history).plot()
    from mnistlab.serve.predict import Predictor

    pytest.importorskip("fastapi")
    from mnistlab.serve.app import model_info

    model_info(Predictor(folder))


@pytest.mark.parametrize("kind", ["mlp", "logreg"])
@pytest.mark.parametrize("name", ["config.json", "metrics.json", "history.json"])
@FUZZ
@given(data=st.data())
def test_any_value_in_any_field_is_a_clear_error_or_works(originals, tmp_path, kind, name, data):
    folder = tmp_path / f"{kind}-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(originals[kind], folder)
    document = json.loads((folder / name).read_text())
    places = [p for p, _ in _paths(document) if p not in ((), ("kind",), ("format",))] or [()]
    place = data.draw(st.sampled_from(places))
    (folder / name).write_text(json.dumps(replace_field(document, place, data.draw(JSON))))
    try:
        _consume(folder)
    except MnistlabError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 600, message
        assert name in message or "config.json" in message or "weights" in message or "skops" in message, (
            message
        )


def test_a_config_implying_a_huge_network_is_refused_before_it_is_built(originals, tmp_path, run_measured):
    folder = tmp_path / "huge"
    shutil.copytree(originals["mlp"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["params"]["width"], config["n_features_in"] = (
        4096,
        1_000_000,
    )  # 16 GB of weights, every field legal
    (folder / "config.json").write_text(json.dumps(config))
    code = (
        "from mnistlab import runs\nfrom mnistlab.errors import RunError\n"
        f"try:\n    runs.load({str(folder)!r})\nexcept RunError as exc:\n    print(str(exc))\n"
    )
    (message,), peak = run_measured(code)
    assert "describes a network of 16,392,065,548 bytes" in message
    assert peak < 1500, f"{peak} MB used to refuse it"


def test_a_skops_archive_naming_one_large_array_many_times_is_refused(originals, tmp_path, run_measured):
    folder = tmp_path / "repeat"
    shutil.copytree(originals["logreg"], folder)
    file = folder / "model.skops"
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    big = io.BytesIO()
    np.save(big, np.zeros(25_000_000))  # 200 MB, deflated to ~200 KB
    members["big.npy"] = big.getvalue()
    names = [f for f in members if f.endswith(".npy") and f != "big.npy"]
    text = members["schema.json"].decode()
    for name in names:
        text = text.replace(f'"{name}"', '"big.npy"')
    members["schema.json"] = text.encode()
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    assert file.stat().st_size < 2_000_000 and len(names) >= 4 and schema
    code = (
        "from mnistlab import runs\nfrom mnistlab.errors import RunError\n"
        f"try:\n    runs.load({str(folder)!r})\nexcept RunError as exc:\n    print(str(exc))\n"
    )
    (message,), peak = run_measured(code)
    assert "big.npy is referenced" in message and "refused as crafted" in message
    assert peak < 800, f"{peak} MB used to refuse it"


def _inflate(file, n_bytes: int, compression: int) -> int:
    """Replace every array of a skops file by a distinct array of zeros of ``n_bytes`` (each a valid .npy of its
    declared size), the archive compressed: a small file that would load as many large arrays. Returns how many
    arrays it holds."""
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    arrays = [name for name in members if name.endswith(".npy")]
    for i, name in enumerate(arrays):
        buffer = io.BytesIO()
        np.save(buffer, np.full(n_bytes // 8, float(i == 0)))  # distinct contents: no shared member to spot
        members[name] = buffer.getvalue()
    with zipfile.ZipFile(file, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return len(arrays)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_small_skops_file_declaring_many_large_arrays_is_refused_before_loading(
    originals, tmp_path, compression
):
    """Each array is under every per-array limit; together they are hundreds of times the file."""
    folder = tmp_path / "bomb"
    shutil.copytree(originals["logreg"], folder)
    count = _inflate(folder / "model.skops", 12_000_000, compression)  # 12 MB each
    assert count >= 6 and (folder / "model.skops").stat().st_size < 1_000_000
    with pytest.raises(
        RunError, match="model.skops: its arrays declare .* bytes in a file of .*refused as crafted"
    ):
        runs.load(folder)


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_the_bound_on_a_skops_file_s_arrays_is_measured_before_any_is_read(originals, tmp_path, run_measured):
    folder = tmp_path / "bomb"
    shutil.copytree(originals["logreg"], folder)
    _inflate(folder / "model.skops", 100_000_000, zipfile.ZIP_BZIP2)  # 100 MB each, ~1 kB in the file
    code = (
        "from mnistlab import runs\nfrom mnistlab.errors import RunError\n"
        f"try:\n    runs.load({str(folder)!r})\nexcept RunError as exc:\n    print(str(exc))\n"
    )
    (message,), peak = run_measured(code)
    assert "refused as crafted" in message
    # against loading the sound run in the same way, not a fixed number (the libraries alone took 400-600 MB on
    # different runs): reading the declared arrays would add their 100 MB each (several GB before the bound).
    # Measured 2026-12-07: refusing 596 MB, the sound load 403 MB; what the refusal's extra ~190 MB is, is open.
    _, sound_peak = run_measured(code.replace(repr(str(folder)), repr(str(originals["logreg"]))))
    assert peak < sound_peak + 300, f"{peak} MB used to refuse it, {sound_peak} MB to load the sound run"


def test_skops_files_within_the_bounds_load_compressed_or_not(originals, tmp_path, monkeypatch):
    """A model saved by mnistlab (stored) or compressed afterwards (deflate shrinks real arrays a few times)
    loads; the absolute cap applies whatever the ratio."""
    folder = tmp_path / "recompressed"
    shutil.copytree(originals["logreg"], folder)
    file = folder / "model.skops"
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    runs.load(folder)
    from mnistlab.runs import skops_files

    monkeypatch.setattr(skops_files, "MAX_SKOPS_BYTES", 10_000)
    with pytest.raises(RunError, match="declare .* bytes, more than the 10,000 bytes mnistlab loads"):
        runs.load(folder)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("config.json", lambda c: c.update(classes_=[0, 1, 7]), "classes_="),
        ("config.json", lambda c: c.update(classes=["a", "a", "b"]), "given twice"),
        ("config.json", lambda c: c.update(classes=["a", "b\x1b[2J", "c"]), "control or invisible"),
        ("config.json", lambda c: c.update(data_source=[1]), "data_source="),
        ("config.json", lambda c: c.update(machine="x"), "machine="),
        ("config.json", lambda c: c.update(seed="1"), "seed="),
        (
            "metrics.json",
            lambda m: m.clear() or m.update(evaluation={"accuracy": "high"}),
            "evaluation.accuracy",
        ),
    ],
)
def test_odd_fields_are_named(originals, tmp_path, name, change, message):
    folder = tmp_path / "odd"
    shutil.copytree(originals["logreg"], folder)
    document = json.loads((folder / name).read_text())
    change(document)
    (folder / name).write_text(json.dumps(document))
    with pytest.raises(RunError, match=f"{name}: .*{message}|{message}"):
        runs.load_run(folder)


@pytest.mark.parametrize("history", [{"epoch": 1}, [{"loss": 1}], [{"epoch": 1, "train_loss": "x"}]])
def test_odd_histories_are_named(originals, tmp_path, history):
    folder = tmp_path / "odd"
    shutil.copytree(originals["mlp"], folder)
    (folder / "history.json").write_text(json.dumps(history))
    with pytest.raises(RunError, match="history.json: history"):
        runs.load_run(folder)
    (folder / "metrics.json").write_text("[1, 2]")
    [row] = runs.list_runs(tmp_path)  # listed, damaged, with its first reason
    assert row["path"] == str(folder) and row["error"].startswith(f"{folder}/")
