"""Entry point of the ``mnistlab`` command: sub-commands, logging, and one-line errors for a user's mistakes.

Start-up is kept short (``mnistlab --help`` well under 0.5 s): the command modules import nothing heavy at the
top; each command imports the library it calls.
"""

from __future__ import annotations

import errno
import logging
import sys
import traceback
import warnings
from typing import Annotated

import typer

from mnistlab.cli import analysis, data, evaluate, models, serve, sweep
from mnistlab.cli.options import as_flags, in_command_line_words, printable
from mnistlab.errors import MnistlabDeprecationWarning, MnistlabError

app = typer.Typer(
    help="mnistlab: load, explore, train and evaluate small grayscale image classifiers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain text: "[digit >= 7, digit odd]" is not markup
)
app.add_typer(data.app, name="data")
app.command("models")(models.list_models)
app.command("train")(models.train)
app.command("runs")(models.list_runs)
app.command("predict")(models.predict)
app.command("export")(models.export)
app.command("evaluate")(evaluate.evaluate)
app.command("cv")(evaluate.cv)
app.command("detect")(evaluate.detect)
app.command("multilabel")(evaluate.multilabel)
app.command("denoise")(evaluate.denoise)
app.command("robustness")(evaluate.robustness)
app.command("graph")(analysis.graph)
app.command("map")(analysis.map_)
app.command("health")(analysis.health)
app.command("report")(analysis.report)
app.command("serve")(serve.serve)
app.command("review")(serve.review)
app.command("playground")(serve.playground)
app.command("exercises")(serve.exercises)
app.command("sweep")(sweep.sweep)
app.command("doctor")(models.doctor)

_DEBUG = {"on": False}


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"mnistlab {version('mnistlab')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            print("mnistlab (not installed: version unknown)")
        raise typer.Exit()


@app.callback()
def options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of every error.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print mnistlab's version and exit."
        ),
    ] = False,
) -> None:
    """mnistlab: load, explore, train and evaluate small grayscale image classifiers."""
    _DEBUG["on"] = debug


# A full disk, a quota or a read-only file system: the machine's state, not a bug, so one line (nothing that was
# there is lost: every writer is atomic).
_ENVIRONMENT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}  # a full disk, a file-size limit


def main(argv: list[str] | None = None) -> int:
    """Run the command line. A user-fixable problem (:class:`MnistlabError`) prints ``error: ...`` and exits
    with status 1; usage errors exit with 2; anything else is a bug and keeps its traceback."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    _DEBUG["on"] = False
    formatted, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        with warnings.catch_warnings():  # an old name typed on the command line is shown (Python hides it)
            warnings.simplefilter("default", MnistlabDeprecationWarning)
            app(args=argv, prog_name="mnistlab")  # click handles usage errors itself (exit status 2)
    except MnistlabError as exc:
        if _DEBUG["on"]:
            traceback.print_exc()
        print(f"error: {printable(in_command_line_words(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRORS:
            raise  # anything else is a bug and keeps its traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {printable(where)}{exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # click exits with 0 on success and 2 on usage errors
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        warnings.formatwarning = formatted
    return 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line shows it: ``warning: ...`` on one line, in its own words (flags), without
    the source file and line Python adds (they mean nothing to a user)."""
    return f"warning: {printable(as_flags(str(message)))}\n"


if __name__ == "__main__":
    sys.exit(main())
