"""precision="auto" is chosen by timing the network here (timings injected: no hardware needed): precision, memory
layout and threads; cached per machine and torch version; an explicit precision always wins; runs record what they
ran on."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import models, runs
from mnistlab.models import precision


@pytest.fixture
def fresh(monkeypatch, tmp_home):
    monkeypatch.setattr(precision, "_CHOSEN", {})
    monkeypatch.setattr(precision, "bf16_supported", lambda: True)
    monkeypatch.setattr(precision, "thread_candidates", lambda: [2])
    monkeypatch.setattr(precision, "_default_threads", lambda: 2)
    return monkeypatch


def timer(
    fp32: float, bf16: float, calls: list | None = None, contiguous: float = 1.0, threads: dict | None = None
):
    """Step seconds by precision; the contiguous layout takes ``contiguous`` times as long as channels-last;
    ``threads`` scales the time per thread count."""

    def measure(architecture, use_bf16, channels_last, n_threads):
        if calls is not None:
            calls.append((architecture, use_bf16, channels_last, n_threads))
        seconds = bf16 if use_bf16 else fp32
        return seconds * (1 if channels_last else contiguous) * (threads or {}).get(n_threads, 1)

    return measure


@pytest.mark.parametrize(
    ("fp32", "bf16", "chosen"), [(0.466, 0.693, "fp32"), (0.10, 0.095, "fp32"), (0.10, 0.06, "bf16")]
)
def test_bf16_only_where_it_measured_clearly_faster(fresh, fp32, bf16, chosen):
    """0.466 / 0.693 s: the conv block measured on the Xeon without native bf16 (emulated: slower)."""
    answer = precision.choose("cnn", measure=timer(fp32, bf16))
    assert answer["precision"] == chosen
    assert answer["timings_ms"]["fp32 channels-last"] == round(1000 * fp32, 2)


@pytest.mark.parametrize(("contiguous", "channels_last"), [(0.5, False), (0.97, True), (1.5, True)])
def test_the_layout_is_measured_too(fresh, contiguous, channels_last):
    """cnn is registered channels-last: contiguous wins only when 5% faster (0.97: a tie keeps the registered)."""
    answer = precision.choose("cnn", measure=timer(0.1, 0.2, contiguous=contiguous))
    assert answer["precision"] == "fp32" and answer["channels_last"] is channels_last


def test_threads_are_measured_where_there_is_a_choice(fresh):
    fresh.setattr(precision, "thread_candidates", lambda: [2, 4])
    calls = []
    answer = precision.choose("cnn", measure=timer(0.1, 0.2, calls, threads={2: 1.0, 4: 0.7}))
    assert answer["threads"] == 4 and {c[3] for c in calls} == {2, 4}
    fresh.setattr(precision, "_CHOSEN", {})
    fresh.setattr(precision, "_read_cache", lambda: {})
    assert precision.choose("cnn", measure=timer(0.1, 0.2, threads={2: 1.0, 4: 1.3}))["threads"] == 2


def test_a_fit_never_takes_more_threads_than_its_process_may_use(fresh):
    """A joblib or Dask worker sharing the cores starts with fewer threads than the measured choice: its fits keep
    to that (two workers of two threads each on two cores were several times slower); a given count still wins."""
    import torch

    fresh.setattr(
        precision, "choose", lambda architecture: {"precision": "bf16", "channels_last": True, "threads": 2}
    )
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert precision.execution_plan("cnn", "auto", None, "cpu", convolutional=True) == (True, True, 1)
        assert precision.execution_plan("cnn", "auto", 2, "cpu", convolutional=True) == (True, True, 2)
        torch.set_num_threads(4)
        assert precision.execution_plan("cnn", "auto", None, "cpu", convolutional=True) == (True, True, 2)
    finally:
        torch.set_num_threads(before)


def test_without_bf16_support_bf16_is_never_timed(fresh):
    fresh.setattr(precision, "bf16_supported", lambda: False)
    calls = []
    answer = precision.choose("cnn", measure=timer(1, 0.1, calls))
    assert answer["precision"] == "fp32" and answer["reason"] == "no bf16 on this CPU: fp32"
    assert calls and not any(bf16 for _, bf16, _, _ in calls)


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


@pytest.mark.parametrize(
    "damage",
    [{"precision": "fp8"}, {"threads": 0}, {"threads": "2"}, {"channels_last": "yes"}, {"version": 1}],
)
def test_an_edited_cache_is_measured_again(fresh, tmp_home, damage):
    from mnistlab.fileio import read_json, write_json

    precision.choose("cnn", measure=timer(0.1, 0.05))
    stored = read_json(tmp_home / "machine.json")
    key = precision.machine_key()
    stored[key]["cnn"].update(damage)
    write_json(tmp_home / "machine.json", stored)
    fresh.setattr(precision, "_CHOSEN", {})
    calls = []
    answer = precision.choose("cnn", measure=timer(0.1, 0.2, calls))
    assert calls and answer["precision"] == "fp32" and answer["threads"] == 2


def test_an_explicit_precision_always_wins(fresh, blobs, fast):
    def never(*_args, **_kwargs):
        raise AssertionError("an explicit precision must not be measured")

    fresh.setattr("mnistlab.models.precision.choose", never)
    X, y = blobs()
    assert models.create("cnn-fast", **fast, precision="fp32").fit(X, y).precision_ == "fp32"
    assert models.create("cnn-fast", **fast, precision="bf16").fit(X, y).precision_ == "bf16"


def test_auto_follows_the_measurement_and_the_run_records_it(fresh, blobs, fast, tmp_path):
    chosen = {"precision": "fp32", "channels_last": False, "threads": 1}
    fresh.setattr("mnistlab.models.precision.choose", lambda _arch: chosen)
    X, y = blobs()
    clf = models.create("cnn-fast", epochs=2, batch_size=32).fit(X, y)  # threads not given: the measured 1
    assert (clf.precision_, clf.channels_last_, clf.threads_) == ("fp32", False, 1)
    runs.save(tmp_path / "run", clf, model="cnn-fast", data="toy", classes=["a", "b", "c"])
    machine = runs.read_config(tmp_path / "run")["machine"]
    assert machine["precision"] == "fp32" and machine["channels_last"] is False and machine["threads"] == 1
    assert isinstance(machine["cpu_flags"], list)
    from mnistlab.reports.pages import machine_line

    assert "trained in fp32, contiguous, 1 threads" in machine_line(machine)


def test_doctor_shows_each_convolutional_network(fresh, capsys):
    from mnistlab.cli.main import main

    fresh.setattr(precision.choose, "__defaults__", (timer(0.02, 0.01), True, None, False))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "cnn " in out and "cnn-fast" in out and "trains in bf16, channels-last, 2 threads" in out
    assert "step times: fp32 channels-last 20.0 ms" in out


def test_unsteady_timings_are_used_but_not_stored(fresh, tmp_home):
    """bf16 fast in one lucky round only: its fastest round says bf16, its median says fp32. More rounds are
    timed; a choice still in dispute serves this process only (other work was competing for the cores)."""
    bf16_rounds = []

    def lucky_once(arch, bf16, channels_last, threads):
        if not bf16:
            return 0.1
        bf16_rounds.append(1)
        return 0.05 if len(bf16_rounds) <= 2 else 0.2  # round 1 (both layouts) lucky, then slow

    answer = precision.choose("cnn", measure=lucky_once)
    assert answer["steady"] is False and answer["rounds"] == precision.MAX_ROUNDS
    assert precision._CHOSEN["cnn"] is answer
    assert "cnn" not in next(iter(precision._read_cache().values()), {})
    fresh.setattr(precision, "_CHOSEN", {})
    calls = []
    answer = precision.choose(
        "cnn", measure=timer(0.1, 0.05, calls)
    )  # the next process measures again, stores
    assert answer["rounds"] == precision.ROUNDS and answer["steady"] is True
    assert calls and precision._read_cache()[precision.machine_key()]["cnn"]["steady"] is True


def test_a_lucky_round_is_outvoted_when_the_median_agrees_later(fresh):
    """One slow round of fp32 (other load): the fastest rounds and the medians agree after more rounds."""
    fp32_rounds = []

    def one_slow_fp32(arch, bf16, channels_last, threads):
        if bf16:
            return 0.085
        fp32_rounds.append(1)
        return 0.3 if len(fp32_rounds) <= 2 else 0.1

    answer = precision.choose("cnn", measure=one_slow_fp32)
    assert (
        answer["precision"] == "bf16"
        and answer["steady"] is True
        and answer["timings_ms"]["fp32 channels-last"] == 100
    )


def test_doctor_measure_replaces_the_stored_choice(fresh, capsys):
    from mnistlab.cli.main import main

    fresh.setattr(precision.choose, "__defaults__", (timer(0.02, 0.01), True, None, False))
    assert main(["doctor"]) == 0 and "trains in bf16" in capsys.readouterr().out
    fresh.setattr(precision, "_CHOSEN", {})
    fresh.setattr(precision.choose, "__defaults__", (timer(0.01, 0.02), True, None, False))
    assert main(["doctor"]) == 0 and "trains in bf16" in capsys.readouterr().out  # stored: not measured
    assert main(["doctor", "--measure"]) == 0 and "trains in fp32" in capsys.readouterr().out
    assert precision._read_cache()[precision.machine_key()]["cnn"]["precision"] == "fp32"


def test_a_tie_is_settled_for_the_plainer_configuration_and_stored(fresh):
    """bf16 and fp32 within a few per cent, alternating which is ahead: fp32 kept, and the answer stored."""
    calls = []

    def tied(arch, bf16, channels_last, threads):
        calls.append(1)
        if not bf16:
            return 0.100
        return (
            0.087 if len(calls) % 3 == 0 else 0.093
        )  # bf16's fastest round under 90% of fp32, its median not

    answer = precision.choose("cnn", measure=tied)
    assert answer["precision"] == "fp32" and answer["channels_last"] is True and answer["steady"] is True
    assert precision._read_cache()[precision.machine_key()]["cnn"]["precision"] == "fp32"
    # the reason agrees with the step times shown beside it: bf16's fastest round was under 90% of fp32's,
    # and it says why fp32 was kept anyway (it used to say "bf16 not measured 10% faster" beside 87 vs 100 ms)
    assert (
        answer["timings_ms"]["bf16 channels-last"] == 87 and answer["timings_ms"]["fp32 channels-last"] == 100
    )
    assert answer["reason"].startswith("bf16's best step (87 ms, channels-last) is 87% of fp32's (100 ms,")
    assert "median rounds disagreed" in answer["reason"] and answer["reason"].endswith("fp32 channels-last")


@pytest.mark.parametrize(
    ("timings", "chosen", "expected"),
    [
        (
            {"fp32 channels-last": 10, "fp32 contiguous": 20, "bf16 channels-last": 8, "bf16 contiguous": 9},
            (True, True),
            "bf16's best step (8 ms, channels-last) is 80% of fp32's (10 ms, channels-last); bf16 is "
            "chosen at 90% or less",
        ),
        (
            {
                "fp32 channels-last": 10,
                "fp32 contiguous": 20,
                "bf16 channels-last": 9.5,
                "bf16 contiguous": 30,
            },
            (False, True),
            "bf16's best step (9.5 ms, channels-last) is 95% of fp32's (10 ms, channels-last); bf16 is "
            "chosen only at 90% or less",
        ),
        (
            {
                "fp32 channels-last": 10,
                "fp32 contiguous": 9,
                "bf16 channels-last": 7,
                "bf16 contiguous": 30,
                "2 threads": 5,
            },
            (True, True),
            "bf16's best step (7 ms, channels-last) is 78% of fp32's (9 ms, "
            "contiguous); bf16 is chosen at 90% or less",
        ),
    ],
)
def test_the_stated_reason_is_worded_from_the_timings_shown(timings, chosen, expected):
    assert precision.explain(timings, *chosen, registered_layout=True) == expected


def test_doctor_states_a_reason_that_agrees_with_the_step_times_it_prints(fresh, capsys):
    from mnistlab.cli.main import main

    fresh.setattr(precision.choose, "__defaults__", (timer(0.02, 0.012), True, None, False))
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    chosen = next(i for i, line in enumerate(lines) if line.startswith("cnn "))
    assert "bf16's best step (12 ms, channels-last) is 60% of fp32's (20 ms, channels-last)" in lines[chosen]
    assert (
        "fp32 channels-last 20.0 ms" in lines[chosen + 1]
        and "bf16 channels-last 12.0 ms" in lines[chosen + 1]
    )


def test_a_dispute_over_the_layout_alone_keeps_the_registered_one(fresh):
    calls = []

    def layouts_tied(arch, bf16, channels_last, threads):
        calls.append(1)
        if bf16:
            return 1.0  # far slower: not in dispute
        if channels_last:  # cnn's registered layout
            return 0.100
        return 0.080 if len(calls) == 2 else 0.2  # contiguous: lucky in the first round only, then slow

    answer = precision.choose("cnn", measure=layouts_tied)
    assert answer["precision"] == "fp32" and answer["channels_last"] is True and answer["steady"] is True


@pytest.mark.parametrize("channels_last", [True, False])
def test_a_loaded_run_predicts_exactly_as_trained_in_either_layout(
    fresh, blobs, fast, tmp_path, channels_last
):
    """Trained channels-last, its weights are channels-last; loaded from the run they are not, until the first
    prediction puts them in the layout the inputs come in (else the results differ in the last bits)."""
    chosen = {"precision": "fp32", "channels_last": channels_last, "threads": 1}
    fresh.setattr("mnistlab.models.precision.choose", lambda _arch: chosen)
    X, y = blobs()
    clf = models.create("cnn-kaggle", **fast).fit(X, y)
    runs.save(tmp_path / "run", clf, model="cnn-kaggle", data="toy", classes=["a", "b", "c"])
    loaded = runs.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
