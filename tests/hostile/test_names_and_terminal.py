"""Class names and file names reach figures and the terminal: '$' is plain text, names are unique, and nothing a
file holds can send control characters to the user's terminal."""

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets, viz
from mnistlab.cli.main import main
from mnistlab.errors import DataFormatError
from mnistlab.evaluation import evaluate_estimator

ESC_CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: writes the user's clipboard
CLEAR = "\x1b[2J"
RLO = "\u202e"  # right-to-left override: shows text reversed


def _npz(path, classes):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
    np.savez(path, images=images, labels=np.arange(30) % len(classes), classes=np.array(classes))
    return path


@pytest.mark.parametrize("bad", [ESC_CLIPBOARD, CLEAR, RLO + "gnp.exe", "zero\u200bwidth", "tab\there", ""])
def test_class_names_with_control_or_invisible_characters_are_refused_when_data_is_read(
    tmp_path, capsys, bad
):
    path = _npz(tmp_path / "bad.npz", ["ok", f"x{bad}"] if bad else ["ok", ""])
    with pytest.raises(DataFormatError, match="class 1"):
        datasets.load(path)
    assert main(["data", "info", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and RLO not in out + err and "\x07" not in out + err
    assert "class 1" in err


def test_class_names_given_on_the_command_line_are_checked_too(tmp_path, capsys):
    path = _npz(tmp_path / "plain.npz", ["a", "b"])
    args = ["train", "--data", str(path), "--model", "logreg", "--test-fraction", "0.5"]
    assert main([*args, "--classes", f"a,{CLEAR}b"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "class 1's name" in err


def test_duplicate_class_names_are_refused_everywhere_they_enter(tmp_path):
    with pytest.raises(DataFormatError, match="'cat' is given twice"):
        datasets.load(_npz(tmp_path / "dup.npz", ["cat", "dog", "cat"]))
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (20, 28, 28)).astype(np.uint8), np.arange(20) % 2
    from sklearn.dummy import DummyClassifier

    clf = DummyClassifier().fit(X.reshape(20, -1), y)
    with pytest.raises(DataFormatError, match="given twice"):
        evaluate_estimator(clf, X.reshape(20, -1), y, ["same", "same"])


def test_dollar_signs_in_class_names_are_drawn_as_text(tmp_path):
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8), np.arange(30) % 3
    from sklearn.dummy import DummyClassifier

    clf = DummyClassifier(strategy="stratified", random_state=0).fit(X.reshape(30, -1), y)
    names = ["$5 bill", "a$b$c", "$x^2$"]  # one '$' crashed mathtext; two rendered as math
    ev = evaluate_estimator(clf, X.reshape(30, -1), y, names)
    for display in (
        viz.ConfusionDisplay.from_evaluation(ev, "counts"),
        viz.PredictionGridDisplay.from_evaluation(ev, X, n=6),
        viz.TopLossesDisplay.from_evaluation(ev, X, k=4),
    ):
        display.save(tmp_path / "figure.png")  # drawing it would raise on a mathtext parse error
    fig = Figure()
    viz.ConfusionDisplay.from_evaluation(ev, "counts").plot(ax=fig.add_subplot())
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert shown == names and not any(t._parse_math for t in fig.axes[0].texts)


def test_file_names_printed_by_commands_are_escaped(tmp_path, capsys):
    from mnistlab import workflows

    _npz(tmp_path / "d.npz", ["a", "b"])
    workflows.train_model(
        str(tmp_path / "d.npz"), "logreg", test_fraction=0.5, out=tmp_path / "run", verbose=0
    )
    canvas = np.full((60, 60), 255, np.uint8)
    canvas[10:50, 25:35] = 0
    photo = tmp_path / f"x{CLEAR}{RLO}.png"
    Image.fromarray(canvas).save(photo)
    assert main(["predict", str(tmp_path / "run"), str(photo)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and RLO not in out and "\\x1b[2J\\u202e.png" in out
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / f"missing{CLEAR}.png")]) == 1
    assert "\x1b" not in capsys.readouterr().err
