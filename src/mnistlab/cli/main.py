"""Entry point of the ``mnistlab`` command: sub-commands, logging, and one-line errors instead of tracebacks."""

from __future__ import annotations

import logging
import sys

import typer

from mnistlab.cli import data, evaluate, models
from mnistlab.errors import MnistlabError

app = typer.Typer(
    help="mnistlab: load, explore, train and evaluate small grayscale image classifiers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; a user-fixable problem prints ``error: ...`` and exits with status 1."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        app(args=argv, prog_name="mnistlab")  # click handles usage errors itself (exit status 2)
    except MnistlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # click exits with 0 on success and 2 on usage errors
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
