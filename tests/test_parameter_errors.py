"""Errors as data: a ParameterError carries the parameter, the value and what was expected, and the command line
names its own flag from ``error.parameter`` (never by matching the message's text)."""

from __future__ import annotations

import pickle

import pytest

from mnistlab import datasets, models
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.parallel import check_jobs
from mnistlab.workflows.sweep_plan import read_sweep


@pytest.fixture
def npz(tmp_path, blobs) -> str:
    X, y = blobs(60)
    datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "bands", "train"), tmp_path / "data", "npz")
    return str(tmp_path / "data" / "train.npz")


def sweep_file(tmp_path, body: str) -> str:
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "s"\nout = "{(tmp_path / "out").as_posix()}"\ndata = ["mnist"]\n{body}')
    return str(path)


@pytest.mark.parametrize(
    ("call", "parameter", "value", "expected"),
    [
        (lambda tmp: models.create("mlp", epochs=0), "epochs", 0, "an integer >= 1 and <= 100000"),
        (lambda tmp: models.create("cnn", lr=-1.0), "lr", -1.0, "a number > 0"),
        (lambda tmp: check_jobs(0), "jobs", 0, "an integer >= 1"),
        (lambda tmp: check_jobs(True), "jobs", True, "an integer >= 1"),  # a flag is not a count
        (
            lambda tmp: read_sweep(sweep_file(tmp, "limit = true\n[[models]]\nname = 'knn'\n")),
            "limit",
            True,
            "an integer >= 10",
        ),
        (
            lambda tmp: datasets.train_and_test("mnist", test_fraction=1.5),
            "test_fraction",
            1.5,
            "a number between 0 and 1, e.g. 0.2",
        ),
        (
            lambda tmp: datasets.train_and_test("mnist", test_fraction=0.2, preprocess="sideways"),
            "preprocess",
            "sideways",
            None,
        ),
    ],
    ids=["epochs", "lr", "jobs", "jobs-flag", "sweep-file-limit", "test-fraction", "preprocess"],
)
def test_the_library_error_carries_parameter_value_and_expected(tmp_path, call, parameter, value, expected):
    with pytest.raises(ParameterError) as caught:
        call(tmp_path)
    error = caught.value
    assert (error.parameter, error.value) == (parameter, value)
    assert expected is None or error.expected == expected
    assert f"{parameter}={value!r}; expected {error.expected}" in str(error)
    assert isinstance(error, MnistlabError) and isinstance(error, ValueError)


def test_the_fields_survive_a_trip_between_processes():
    """joblib and Dask pickle a worker's error: the parent must get the same fields and message."""
    sent = ParameterError("jobs", 0, "an integer >= 1", owner="sweep", hint="see --help")
    received = pickle.loads(pickle.dumps(sent))
    assert (received.parameter, received.value, received.expected, received.owner) == (
        "jobs",
        0,
        sent.expected,
        "sweep",
    )
    assert str(received) == str(sent) == "sweep: jobs=0; expected an integer >= 1; see --help"
    plain = pickle.loads(pickle.dumps(ParameterError("no models to study")))
    assert str(plain) == "no models to study" and plain.parameter is None


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["cv", "--data", "{npz}", "--model", "naive-bayes", "--jobs", "0"],
            "error: --jobs 0; expected an integer >= 1",
        ),
        (
            [
                "detect",
                "--data",
                "{npz}",
                "--positive",
                "a",
                "--models",
                "naive-bayes",
                "--target-precision",
                "2",
            ],
            "error: detect: --target-precision 2.0; expected a number > 0 and <= 1 or None",
        ),
        (
            ["denoise", "--data", "{npz}", "--noise", "0"],
            "error: denoise: --noise 0; expected an integer >= 1",
        ),
        (
            ["train", "--data", "{npz}", "--model", "mlp", "--set", "epochs=0"],
            "epochs=0; expected an integer >= 1",
        ),
        (
            ["train", "--data", "{npz}", "--model", "naive-bayes", "--test-fraction", "1.5"],
            "error: --test-fraction 1.5; expected a number between 0 and 1",
        ),
        (
            ["train", "--data", "{npz}", "--model", "naive-bayes", "--preprocess", "sideways"],
            "error: --preprocess sideways; expected one of 'none'",
        ),
        (
            ["health", "{npz}", "--near-ratio", "2"],
            "error: near duplicate pairs: --near-ratio 2.0; expected a number > 0 and < 1",
        ),
        (
            ["health", "{npz}", "--min-judge-accuracy", "2"],
            "error: suspected label errors: --min-judge-accuracy 2.0; expected a number >= 0 and <= 1",
        ),
        (["predict", "{npz}", "x.png", "--top", "0"], "error: predict: --top 0; expected an integer >= 1"),
        (["robustness", "{npz}", "--seed", "-1"], "error: robustness: --seed -1; expected an integer >= 0"),
        (["health", "{npz}", "--skip", "all"], "error: --skip all; expected some of duplicates, near"),
        (
            ["robustness", "{npz}", "--corruption", "fogg"],
            "error: robustness: --corruption fogg; expected names from shot_noise",
        ),
    ],
    ids=[
        "jobs",
        "target-precision",
        "noise",
        "model-parameter",
        "test-fraction",
        "preprocess",
        "near-ratio",
        "min-judge-accuracy",
        "predict-top",
        "robustness-seed",
        "health-skip",
        "robustness-corruption",
    ],
)
def test_the_command_line_names_its_flag(npz, capsys, args, said):
    assert main([a.format(npz=npz) for a in args]) == 1
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1, err


def test_a_parameter_read_from_a_file_is_not_named_as_a_flag(tmp_path, capsys):
    """`limit = true` in a sweep file is the file's key, not --limit (matching the message's text said --limit)."""
    path = sweep_file(tmp_path, "limit = true\n[[models]]\nname = 'knn'\n")
    assert main(["sweep", path]) == 1
    err = capsys.readouterr().err
    assert "limit=True; expected an integer >= 10" in err and "--limit" not in err, err


def test_the_flag_comes_from_the_parameter_not_the_message(monkeypatch, npz, capsys):
    """A value the message's text could not be matched against (a path with spaces and a quote) still gets its
    flag, written as a shell takes it."""
    from mnistlab import workflows

    def refuse(*args, **kwargs):
        raise ParameterError("test", "my data's.csv", "a CSV file with a label column", owner="cv")

    monkeypatch.setattr(workflows, "cross_validate", refuse)
    assert main(["cv", "--data", npz]) == 1
    assert "error: cv: --test 'my data'\"'\"'s.csv'; expected a CSV file" in capsys.readouterr().err
