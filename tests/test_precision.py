"""precision="auto" is chosen by timing the network here (timings injected: no hardware needed), cached per
machine and torch version; an explicit precision always wins; runs record what they ran on."""

from __future__ import annotations

import pytest

from mnistlab import models, runs
from mnistlab.models import precision


@pytest.fixture
def fresh(monkeypatch, tmp_home):
    monkeypatch.setattr(precision, "_CHOSEN", {})
    monkeypatch.setattr(precision, "bf16_supported", lambda: True)
    return monkeypatch


def timer(fp32: float, bf16: float, calls: list | None = None):
    def measure(architecture, use_bf16):
        if calls is not None:
            calls.append((architecture, use_bf16))
        return bf16 if use_bf16 else fp32

    return measure


@pytest.mark.parametrize(
    ("fp32", "bf16", "chosen"), [(0.466, 0.693, "fp32"), (0.10, 0.095, "fp32"), (0.10, 0.06, "bf16")]
)
def test_bf16_only_where_it_measured_clearly_faster(fresh, fp32, bf16, chosen):
    """0.466 / 0.693 s: the conv block measured on the Xeon without native bf16 (emulated: slower)."""
    answer = precision.choose("cnn", measure=timer(fp32, bf16))
    assert answer["precision"] == chosen and answer["fp32_ms"] == round(1000 * fp32, 2)


def test_without_bf16_support_nothing_is_measured(fresh):
    fresh.setattr(precision, "bf16_supported", lambda: False)
    calls = []
    assert precision.choose("cnn", measure=timer(1, 0.1, calls))["precision"] == "fp32" and calls == []


def test_the_answer_is_cached_per_machine_and_torch_version(fresh, tmp_home):
    calls = []
    precision.choose("cnn", measure=timer(0.1, 0.05, calls))
    measured = len(calls)
    fresh.setattr(precision, "_CHOSEN", {})  # a new process: read back from $MNISTLAB_HOME/machine.json
    assert precision.choose("cnn", measure=timer(0.1, 0.05, calls))["precision"] == "bf16"
    assert len(calls) == measured and (tmp_home / "machine.json").is_file()
    facts = precision.cpu_facts()
    fresh.setattr(
        precision, "cpu_facts", lambda: {**facts, "torch": "9.9.9"}
    )  # torch upgraded: measured again
    fresh.setattr(precision, "_CHOSEN", {})
    assert precision.choose("cnn", measure=timer(0.1, 0.2, calls))["precision"] == "fp32"
    assert len(calls) == 2 * measured


def test_an_explicit_precision_always_wins(fresh, blobs, fast):
    def never(*_args, **_kwargs):
        raise AssertionError("an explicit precision must not be measured")

    fresh.setattr("mnistlab.models.torch_classifier.choose_precision", never)
    X, y = blobs()
    assert models.create("cnn-fast", **fast, precision="fp32").fit(X, y).precision_ == "fp32"
    assert models.create("cnn-fast", **fast, precision="bf16").fit(X, y).precision_ == "bf16"


def test_auto_follows_the_measurement_and_the_run_records_it(fresh, blobs, fast, tmp_path):
    fresh.setattr("mnistlab.models.torch_classifier.choose_precision", lambda _arch: {"precision": "fp32"})
    X, y = blobs()
    clf = models.create("cnn-fast", **fast).fit(X, y)
    assert clf.precision_ == "fp32"
    runs.save(tmp_path / "run", clf, model="cnn-fast", data="toy", classes=["a", "b", "c"])
    machine = runs.read_config(tmp_path / "run")["machine"]
    assert machine["precision"] == "fp32" and machine["channels_last"] is True
    assert isinstance(machine["cpu_flags"], list) and machine["threads"] >= 1


def test_doctor_shows_each_convolutional_network(fresh, capsys):
    from mnistlab.cli.main import main

    fresh.setattr(precision, "step_seconds", lambda arch, bf16: 0.01 if bf16 else 0.02)
    fresh.setattr(precision.choose, "__defaults__", (precision.step_seconds, True))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "cnn " in out and "cnn-fast" in out and "trains in bf16" in out
