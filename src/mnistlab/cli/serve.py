"""The web app command (``mnistlab serve RUN``), the review page, and what works without a server: the playground
page and the exercises handout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import RunArg, TrustOpt, echo


def serve(
    run: RunArg,
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8000,
    onnx: Annotated[
        bool | None,
        typer.Option(
            "--onnx/--no-onnx",
            help="Run a PyTorch model through ONNX Runtime (default: when installed and measured faster here).",
        ),
    ] = None,
    max_upload: Annotated[int, typer.Option(help="Largest upload accepted, in bytes.")] = 2_000_000,
    trust: TrustOpt = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A name the Host header may carry (repeatable); default: the loopback names and --host, or "
            "any name on 0.0.0.0."
        ),
    ] = None,
) -> None:
    """Serve a run as a web app: draw or upload an image and see the prediction (GET /, POST /predict,
    GET /model, GET /health, API docs at /docs)."""
    serve_run = _web_app("serve_app")
    serve_run(
        run,
        host,
        port,
        onnx,
        trust,
        max_upload,
        ready=lambda url: echo(f"serving {run} at {url} (Ctrl-C stops)"),
        allowed_hosts=allowed_host,
    )


def review(
    data: Annotated[
        str, typer.Argument(help="Registered data set, or a CSV, image folder, IDX file or npz.")
    ],
    findings: Annotated[
        Path,
        typer.Option(
            help="findings.csv of `mnistlab health DATA --out DIR`: what to review (the per_image.csv beside it "
            "picks the typical images shown next to each)."
        ),
    ],
    decisions: Annotated[
        Path, typer.Option(help="Decisions file (JSON lines): created, or resumed if it is for this data.")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8000,
) -> None:
    """Review what health found, one image at a time, from the keyboard (keep, relabel, drop); every decision is
    saved as it is made. `mnistlab data fix DATA --decisions F ...` then writes the cleaned copy."""
    _web_app("serve_review")(
        data,
        findings,
        decisions,
        host,
        port,
        ready=lambda url: echo(f"reviewing {data} at {url}; decisions go to {decisions} (Ctrl-C stops)"),
    )


def _web_app(name: str):
    """``mnistlab.serve.serve_app`` or ``serve_review``, or one line saying which package of the web extra is
    missing."""
    from mnistlab import serve as serving

    try:  # the face imports the server on each use until it succeeds, so a missing web package is always found out
        return getattr(serving, name)
    except ModuleNotFoundError as exc:
        if exc.name not in {"fastapi", "uvicorn", "starlette", "pydantic", "anyio"}:
            raise
        from mnistlab.errors import MnistlabError

        raise MnistlabError(f"the web app needs {exc.name}: pip install 'mnistlab[serve]'") from None


def playground(
    runs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="PyTorch run folders to show; none: train softmax, mlp, cnn-fast on MNIST and Fashion."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder of the page (open OUT/index.html).")] = Path(
        "site/playground"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the trainings (when no run is named).")] = 0,
) -> None:
    """A static page where the models answer a drawing in the reader's browser (ONNX Runtime Web, no server;
    it also works opened from the file system)."""
    from mnistlab import workflows

    page = workflows.playground(out, runs or (), seed=seed)
    echo(f"playground written to {out}; open {page}")


def exercises(
    out: Annotated[
        Path, typer.Option(help="Folder of the handout: NAME/student and NAME/autograder.")
    ] = Path("exercises"),
    name: Annotated[
        list[str] | None, typer.Option("--name", help="An exercise (repeatable); default: all of them.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Run every test on the reference solutions first.")
    ] = True,
) -> None:
    """The teacher's command: every exercise's student notebook (solutions stripped, a check after each
    question) and grading bundle (otter-grader; grade with `otter grade` or upload to Gradescope)."""
    from mnistlab import exercises as handout

    for exercise, folder in handout.assign(out, name or None, run_tests=check).items():
        echo(f"{exercise}: student notebook {folder / 'student'}, grading bundle {folder / 'autograder'}")
