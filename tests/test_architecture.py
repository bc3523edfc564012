"""The architecture as behaviour: what each layer pulls in when imported, a fast command line, help that renders.

The import rules between packages themselves are checked by import-linter (``lint-imports`` in ``make test``,
contracts in pyproject.toml); these tests check what a user feels: the heavy imports a command's start-up
pays for (its seconds are measured by benchmarks/suite.py's start_up benchmark, with the machine's load).
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


# What a command imports before it answers is what its start-up costs beyond the interpreter's (the seconds
# themselves, with the machine and its load, are benchmarks/suite.py's start_up benchmark).
START_UP_IMPORTS = [
    (["--help"], HEAVY),
    (["data", "list"], {"torch", "sklearn", "matplotlib", "scipy"}),
    (["models"], HEAVY),
]


# ids from sorted names: a set's order differs between processes (string hashing), and pytest-xdist's workers
# must collect the same test names
@pytest.mark.parametrize(
    ("args", "forbidden"), START_UP_IMPORTS, ids=lambda v: " ".join(sorted(v) if isinstance(v, set) else v)
)
def test_quick_commands_import_no_heavy_library(args, forbidden):
    statement = f"from mnistlab.cli.main import main; main({args!r})"
    assert imported_after(statement) & forbidden == set(), args


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
