"""Exercises that check themselves, two or more per tutorial, for a class: each a master notebook (questions,
reference solutions, tests with messages and hints) that otter-grader turns into the student's notebook (solutions
stripped, ``grader.check("name")`` after every question) and the teacher's grading bundle (``otter assign``).

Why otter-grader: teachers already use it (UC Berkeley's Data 8 and Data 100), a master notebook is an ordinary
notebook with marked cells, its tests are plain Python functions whose assertion messages the student reads, and
the grading bundle runs locally (``otter grade`` / ``otter run``) or on Gradescope; nbgrader needs a Jupyter server
extension and a course database for the same. The masters are Markdown notebooks (jupytext) in ``masters/``;
``masters/planted.toml`` holds one wrong answer per question, which the tests plant to check that every check can
fail, with its message.
"""

from __future__ import annotations

import tempfile
import tomllib
from importlib import resources
from pathlib import Path

from mnistlab.errors import MnistlabError, ParameterError

# the tutorial each exercise goes with, in the order of the tutorials
EXERCISES = {
    "fashion_basics": "keras_fashion_mnist",
    "classification": "hands_on_ml_classification",
    "softmax": "kaggle_softmax_digits",
    "cnn": "kaggle_fashion_cnn",
    "graph": "fashion_similarity_graph",
}


def master(name: str):
    """Exercise ``name``'s master notebook (an ``nbformat`` notebook).

    Examples
    --------
    >>> nb = master("cnn")
    >>> sum("# BEGIN QUESTION" in cell.source for cell in nb.cells)
    2
    """
    import jupytext

    if name not in EXERCISES:
        raise ParameterError("exercise", name, f"one of {', '.join(EXERCISES)}")
    text = resources.files(__name__).joinpath("masters", f"{name}.md").read_text()
    return jupytext.reads(text, fmt="md")


def planted_answers() -> dict[str, dict[str, dict[str, str]]]:
    """``{exercise: {question: {"solution", "wrong", "message"}}}``: one wrong answer per question and the message
    its check must give (what the tests plant).

    Examples
    --------
    >>> planted_answers()["cnn"]["size"]["wrong"]
    'size = 7'
    """
    return tomllib.loads(resources.files(__name__).joinpath("masters", "planted.toml").read_text())


def assign(out: str | Path, names: list[str] | None = None, run_tests: bool = True) -> dict[str, Path]:
    """The teacher's command (``mnistlab exercises``): each exercise's student notebook and grading bundle into
    ``out/NAME/student`` and ``out/NAME/autograder`` (otter-grader's ``otter assign``, which first runs every test
    on the reference solutions unless ``run_tests`` is False).

    Parameters
    ----------
    out : str or Path
        The folder to write.
    names : list of str, optional
        The exercises (default: all, :data:`EXERCISES`).
    run_tests : bool
        Check the reference solutions against the tests (executes each notebook: seconds to a minute).

    Returns
    -------
    dict
        ``{name: out/name}``.

    Examples
    --------
    >>> assign("handout")  # doctest: +SKIP
    {'fashion_basics': PosixPath('handout/fashion_basics'), ...}
    """
    import nbformat

    try:
        from otter.assign import main as otter_assign
    except ImportError:
        raise MnistlabError("otter-grader is not installed: pip install 'mnistlab[classroom]'") from None
    written = {}
    for name in names or list(EXERCISES):
        notebook = master(name)
        target = Path(out) / name
        with tempfile.TemporaryDirectory(prefix="mnistlab-exercise-") as scratch:
            path = Path(scratch) / f"{name}.ipynb"
            nbformat.write(notebook, path)
            otter_assign(str(path), str(target), no_pdfs=True, no_run_tests=not run_tests)
        written[name] = target
    return written
