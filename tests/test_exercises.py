"""The exercises: every exercise's reference solution passes its checks (otter assign runs them), every question
fails with its exercise's message when a planted wrong answer replaces the solution, and the student's notebook
holds no solution."""

from __future__ import annotations

import pytest

from mnistlab import exercises

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
otter = pytest.importorskip("otter")


@pytest.fixture(scope="module")
def assigned(tmp_path_factory):
    # otter assign executes each master and stops with an error when a reference solution fails a check
    return exercises.assign(tmp_path_factory.mktemp("handout"))


def _lines(source: str) -> list[str]:
    """A cell's lines without the "# SOLUTION" marks of the master."""
    return [line.split("  # SOLUTION")[0] for line in source.splitlines()]


def test_every_tutorial_has_two_exercises_or_more():
    planted = exercises.planted_answers()
    assert set(planted) == set(exercises.EXERCISES)
    assert all(len(questions) >= 2 for questions in planted.values())
    assert sum(len(questions) for questions in planted.values()) >= 10


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_a_planted_wrong_answer_fails_with_the_exercise_message(assigned, name, tmp_path):
    import nbformat
    from otter.api import grade_submission

    folder = assigned[name]
    notebook = nbformat.read(folder / "autograder" / f"{name}.ipynb", as_version=4)
    planted = exercises.planted_answers()[name]
    for question, answer in planted.items():
        cells = [cell for cell in notebook.cells if answer["solution"] in _lines(cell.source)]
        assert len(cells) == 1, f"{name}/{question}: the solution line to replace is not in the notebook"
        lines = _lines(cells[0].source)
        lines[lines.index(answer["solution"])] = answer["wrong"]
        cells[0].source = "\n".join(lines)
    wrong = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, wrong)
    bundle = next((folder / "autograder").glob("*.zip"))  # the teacher's grading bundle
    results = grade_submission(str(wrong), str(bundle), quiet=True)
    for question, answer in planted.items():
        result = results.results[question]
        assert result.grade == 0, f"{name}/{question}: the planted wrong answer passed"
        messages = " ".join(case.message or "" for case in result.test_case_results)
        assert answer["message"] in messages, (question, messages)


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_student_notebook_has_the_checks_and_no_solution(assigned, name):
    import nbformat

    student = nbformat.read(assigned[name] / "student" / f"{name}.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in student.cells if cell.cell_type == "code")
    for question, answer in exercises.planted_answers()[name].items():
        assert f'grader.check("{question}")' in code
        assert answer["solution"].strip() not in code, (
            f"{name}/{question}: the solution is in the student's notebook"
        )


def test_an_unknown_exercise_is_refused():
    from mnistlab.errors import ParameterError

    with pytest.raises(ParameterError, match="one of fashion_basics"):
        exercises.master("nope")
