"""The architecture as behaviour: what each layer pulls in when imported, a fast command line, help that renders.

The import rules between packages themselves are checked by import-linter (``lint-imports`` in ``make test``,
contracts in pyproject.toml); these tests check what a user feels: start-up time and heavy imports.
"""

import re
import subprocess
import sys

import pytest
import typer

from mnistlab.cli.main import app, main


def imported_after(statement: str) -> set[str]:
    """Top-level package names in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(out.stdout.splitlines()[-1].split())  # the last line: what the statement printed comes before


HEAVY = {"torch", "sklearn", "matplotlib", "scipy", "numpy", "PIL"}


def test_command_line_starts_without_heavy_libraries():
    assert imported_after("import mnistlab.cli.main") & HEAVY == set()


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("mnistlab.datasets", {"torch", "sklearn", "matplotlib"}),
        ("mnistlab.evaluation", {"torch"}),
        ("mnistlab.viz", {"torch"}),
    ],
)
def test_lower_layers_do_not_pull_in_heavy_libraries(module, forbidden):
    assert imported_after(f"import {module}") & forbidden == set()


def _start_up_seconds(*args: str, repeat: int = 7) -> float:
    """The fastest of ``repeat`` runs of ``python *args`` (the minimum: other load only adds time)."""
    import time

    fastest = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=True, timeout=60)
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


# Measured on a quiet 2-core machine, beyond a bare `python -c pass`: --help 0.15 s, data list 0.35-0.45 s,
# models 0.24 s. The budgets leave room for the other test worker's load; 0.8 s more fails any of them.
START_UP_BUDGETS = [(["--help"], 0.35), (["data", "list"], 0.7), (["models"], 0.5)]


@pytest.mark.slow  # 15 interpreter starts each; a timing, left out of the quick run
@pytest.mark.parametrize(("args", "budget"), START_UP_BUDGETS, ids=str)
def test_start_up_beyond_the_interpreter_fits_its_budget(args, budget):
    """Each command's start-up over the interpreter's own, both measured in the same test."""
    interpreter = _start_up_seconds("-c", "pass")
    command = _start_up_seconds("-m", "mnistlab.cli.main", *args)
    assert command - interpreter < budget, (args, command, interpreter)


def test_listing_models_and_runs_loads_neither_pytorch_nor_scikit_learn(tmp_path):
    statement = f"from mnistlab.cli.main import main; main(['models']); main(['runs', {str(tmp_path)!r}])"
    assert imported_after(statement) & {"torch", "sklearn"} == set()


def _commands(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize(
    ("path", "command"), list(_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_help_text_renders_whole(path, command, capsys):
    """Each command's docstring and option help appear in its --help exactly (no text eaten as markup)."""
    assert main([*path, "--help"]) == 0
    shown = re.sub(r"\s+", "", capsys.readouterr().out)  # the terminal wrapping may break lines anywhere
    for text in [command.help or "", *(p.help or "" for p in command.params)]:
        assert re.sub(r"\s+", "", text) in shown, text


def test_multilabel_help_keeps_its_brackets(capsys):
    main(["--help"])
    assert re.search(r"multilabel\s+Multilabel KNN on \[class >= 7, class odd\]", capsys.readouterr().out)


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("mnistlab.experiment", "mnistlab.workflows", "train_model"),
        ("mnistlab.sweep", "mnistlab.workflows.sweep", "run_sweep"),
    ],
)
def test_moved_modules_still_import_with_a_warning(old, new, name):
    """Code written against the old module paths keeps working, and is told where the functions live now."""
    import importlib

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
