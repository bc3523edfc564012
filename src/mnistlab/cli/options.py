"""Options several commands share: where data and test data come from, class names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated

import typer

from mnistlab.errors import ParameterError, shown

DATA_HELP = (
    "Registered data set, or a file or folder: a Kaggle-layout CSV, an image folder (class sub-folders or a "
    "labels.csv manifest), an IDX images file, an npz."
)
TestOpt = Annotated[str | None, typer.Option("--test", help="Test data: a file or folder like --data.")]
TestFractionOpt = Annotated[
    float | None, typer.Option(help="Hold out this fraction of --data as test data (stratified, seeded).")
]
RunArg = Annotated[Path, typer.Argument(help="Run folder.")]
TrustOpt = Annotated[bool, typer.Option("--trust", help="Load a tree model saved on another machine.")]
JobsOpt = Annotated[int, typer.Option(help="Tasks at once on this machine (joblib's loky processes).")]
ClusterOpt = Annotated[
    str | None, typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786 (needs mnistlab[cluster]).")
]
PreprocessOpt = Annotated[
    str,
    typer.Option(
        help="How images of an image folder become 28x28: none (28x28 only), mnist (photos and drawings, as "
        "predict reads them: inverted, cropped to the ink, 20x20, centred) or resize (plain)."
    ),
]
ClassesOpt = Annotated[
    str | None, typer.Option(help='Class names in label order, e.g. "T-shirt/top,Trouser,...".')
]
LabelColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--label-column",
        help="A CSV's label column: its header name, or without a header first, last or its number. Default: a "
        "column named label, else the first of 785 columns.",
    ),
]
DropColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--drop-columns",
        help='Columns of a CSV to leave out, comma-separated, e.g. "file,source" (numbers without a header). Id '
        "columns (id, ImageId, index, a row count) are left out without it.",
    ),
]


_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def printable(text: object) -> str:
    r"""``text`` with control and invisible characters shown as escapes (``\x1b``, ``\u202e``): what the command
    line prints can never clear a screen, write the clipboard, or reorder a line (a file name can hold anything).

    Examples
    --------
    >>> print(printable("run\x1b]52;c;aGk=\x07 \u202edone"))
    run\x1b]52;c;aGk=\x07 \u202edone
    """
    return _HIDDEN.sub(lambda m: ascii(m.group(0))[1:-1], str(text))


def echo(text: object = "", err: bool = False) -> None:
    """The one way a command prints a line (:func:`printable`)."""
    typer.echo(printable(text), err=err)


def parse_columns(text: str | None) -> list[str] | None:
    """``"file, source"`` -> ``["file", "source"]``: the --drop-columns list; None stays None.

    Examples
    --------
    >>> parse_columns("file, source")
    ['file', 'source']
    """
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def parse_classes(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None.

    Examples
    --------
    >>> parse_classes("T-shirt/top, Trouser")
    ['T-shirt/top', 'Trouser']
    """
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or not all(names):
        raise ParameterError(f"--classes {text!r}: expected two or more comma-separated names")
    return names


# Library errors name parameters as a Python caller writes them: ``name=value``, or `name` in backquotes. The
# command line shows its own flags instead; this table is the one place that maps the two.
FLAGS = {
    "checks": "--checks",
    "classes": "--classes",
    "cluster": "--cluster",
    "corruptions": "--corruption",
    "drop_columns": "--drop-columns",
    "folds": "--folds",
    "features_from": "--features-from",
    "force_flip": "--force-flip",
    "host": "--host",
    "jobs": "--jobs",
    "label_column": "--label-column",
    "limit": "--limit",
    "max_trials": "--max-trials",
    "method": "--method",
    "min_judge_accuracy": "--min-judge-accuracy",
    "n": "--n",
    "near_ratio": "--near-ratio",
    "noise": "--noise",
    "out": "--out",
    "overwrite": "--overwrite",
    "port": "--port",
    "preprocess": "--preprocess",
    "seed": "--seed",
    "skip": "--skip",
    "submission": "--submission",
    "target_precision": "--target-precision",
    "test": "--test",
    "test_fraction": "--test-fraction",
    "top": "--top",
    "track": "--track",
    "trust": "--trust",
    "validation_fraction": "--validation-fraction",
}
# A parameter starts the message or follows a space or a bracket: ``out=`` inside a path (``/data/out=1/x.csv``)
# is part of the path, and stays as it is.
_PARAMETER = re.compile(r"`(\w+)`|(?<![^\s(,;])(\w+)=(?:(True\b)|'([\w-]+)')?")


def in_command_line_words(error: Exception) -> str:
    """An error's message as the command line shows it. A :class:`~mnistlab.errors.ParameterError` names the
    flag that sets its parameter from ``error.parameter`` and ``error.value`` (never from its text); a model
    parameter (set with ``--set``) or one read from a file keeps ``name=value``. Other messages still go through
    :func:`as_flags`, until every raise site names its parameter.

    Examples
    --------
    >>> from mnistlab.errors import ParameterError
    >>> in_command_line_words(ParameterError("jobs", 0, "an integer >= 1", owner="sweep"))
    'sweep: --jobs 0; expected an integer >= 1'
    >>> in_command_line_words(ParameterError("preprocess", "big", "none, mnist or resize"))
    '--preprocess big; expected none, mnist or resize'
    >>> in_command_line_words(ParameterError("lr", 0, "a number > 0", owner="mlp"))
    'mlp: lr=0; expected a number > 0'
    >>> in_command_line_words(ParameterError("limit", True, "an integer >= 10", owner="s.toml", from_file=True))
    's.toml: limit=True; expected an integer >= 10'
    """
    if isinstance(error, ParameterError) and error.parameter is not None:
        flag = None if error.from_file else FLAGS.get(error.parameter)
        return str(error) if flag is None else error.message(_flag_with(flag, error.value))
    return as_flags(str(error))


def _flag_with(flag: str, value) -> str:
    """``--flag value`` as a user would type it (``--overwrite`` for True, a list as ``a,b``)."""
    if value is True:
        return flag
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if isinstance(value, str):
        return f"{flag} {shlex.quote(value) if len(value) <= 80 else shown(value)}"
    return f"{flag} {value}" if isinstance(value, int | float) else f"{flag} {shown(value)}"


def as_flags(message: str) -> str:
    """A library message in the command line's words: ``jobs=0`` -> ``--jobs 0``, ``overwrite=True`` ->
    ``--overwrite``, `` `out` `` -> ``--out``; names that are not options (model parameters, given with
    ``--set``) stay as they are.

    Examples
    --------
    >>> as_flags("jobs=0; expected an integer >= 1")
    '--jobs 0; expected an integer >= 1'
    >>> as_flags("choose another `out`, or overwrite=True to replace it; lr=0 too")
    'choose another --out, or --overwrite to replace it; lr=0 too'
    >>> as_flags("choose preprocess='mnist' or preprocess='resize'")
    'choose --preprocess mnist or --preprocess resize'
    >>> as_flags("/data/out=1/test=2.csv: no such file (test_fraction=2)")
    '/data/out=1/test=2.csv: no such file (--test-fraction 2)'
    """

    def flag(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in FLAGS:
            return match.group(0)
        if match.group(1) or match.group(3):
            return FLAGS[name]
        if match.group(4):  # a quoted word: the shell needs no quotes
            return f"{FLAGS[name]} {match.group(4)}"
        return FLAGS[name] + " "

    return _PARAMETER.sub(flag, message)
