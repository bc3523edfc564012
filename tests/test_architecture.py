"""The architecture as behaviour: what each layer pulls in when imported, a fast command line, help that renders.

The import rules between packages themselves are checked by import-linter (``lint-imports`` in ``make test``,
contracts in pyproject.toml); these tests check what a user feels: the heavy imports a command's start-up
pays for (its seconds are measured by benchmarks/suite.py's start_up benchmark, with the machine's load).
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

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


# Closed package faces (httpx's habit): a package's ``__init__`` is what the other packages may use; its modules
# are its own business, free to split, merge or rename. Inside src/ no module reaches into another package's
# modules. Tests and benchmarks may: they measure the modules themselves.
SRC = Path(__file__).resolve().parents[1] / "src" / "mnistlab"
PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").is_file())
# The old import paths kept for users, each re-exporting what its old module held (with a DeprecationWarning).
OLD_PATHS = {"experiment.py", "sweep.py"}


def face(package: str) -> set[str]:
    """The names of ``package``'s ``__all__``, read from its source (importing it could pull in PyTorch)."""
    for node in ast.parse((SRC / package / "__init__.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def reach_ins(path: Path, source: str) -> list[str]:
    """The imports in ``source`` (the module at ``path`` under SRC) of another package's module rather than its
    face: ``import mnistlab.P.M``, ``from mnistlab.P.M import x``, ``from mnistlab.P import M`` (M not in P's
    ``__all__``) and ``importlib.import_module("mnistlab.P.M")``."""
    parts = path.relative_to(SRC).parts
    own = parts[0] if len(parts) > 1 else None
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted = node.module.split(".")
            is_face = len(dotted) == 2 and dotted[0] == "mnistlab" and dotted[1] in PACKAGES
            names = [alias.name for alias in node.names]
            modules = [node.module] + (
                [f"{node.module}.{n}" for n in names if n not in face(dotted[1])] if is_face else []
            )
        elif isinstance(node, ast.Call) and _called(node.func) == "import_module" and node.args:
            named = node.args[0]
            modules = (
                [named.value] if isinstance(named, ast.Constant) and isinstance(named.value, str) else []
            )
        else:
            continue
        for module in modules:
            dotted = module.split(".")
            if len(dotted) > 2 and dotted[0] == "mnistlab" and dotted[1] in PACKAGES and dotted[1] != own:
                package_dir = SRC / dotted[1]
                if (package_dir / f"{dotted[2]}.py").is_file() or (package_dir / dotted[2]).is_dir():
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {module}")
    return found


def _called(func: ast.expr) -> str | None:
    """The name a call calls: ``import_module`` for ``importlib.import_module(...)`` and ``import_module(...)``."""
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def test_packages_use_each_other_through_their_faces_only():
    found = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if str(path.relative_to(SRC)) not in OLD_PATHS
        for hit in reach_ins(path, path.read_text(encoding="utf-8"))
    ]
    assert found == [], "import these from the package instead (add the name to its __init__):\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "line",
    [
        "from mnistlab.datasets.sources import resolve",
        "import mnistlab.datasets.sources",
        "import mnistlab.datasets.sources as sources",
        "from mnistlab.datasets import sources",
        "def f():\n    from mnistlab.models.torch_classifier import TorchClassifier",
        'importlib.import_module("mnistlab.serve.server")',  # a reach-in all the same
    ],
)
def test_a_reach_in_is_found_wherever_it_is_written(line):
    assert len(reach_ins(SRC / "workflows" / "train.py", line)) == 1


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("workflows/train.py", "from mnistlab.datasets import Dataset, load"),
        ("workflows/train.py", "from mnistlab import datasets"),
        ("workflows/train.py", "import mnistlab.datasets"),
        ("datasets/sources.py", "from mnistlab.datasets.dataset import Dataset"),  # a package's own modules
        ("workflows/train.py", "from mnistlab.errors import ParameterError"),  # a module, not a package
        ("workflows/train.py", "from mnistlab.workflows.evaluate import evaluate_run"),
    ],
)
def test_imports_through_a_face_or_inside_a_package_pass(path, line):
    assert reach_ins(SRC / path, line) == []
