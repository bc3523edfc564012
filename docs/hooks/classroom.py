"""mkdocs hook: the classroom pages' generated files, made at build time and added to the site as files of it (so
that links to them are checked like any page's).

- ``playground/``: the playground page (``mnistlab playground``), its models trained by the build: on MNIST's and
  Fashion-MNIST's full training splits, or on their first 5,000 images with ``MNISTLAB_TUTORIAL_SIZE=small`` (what
  CI builds).
- ``exercises/NAME/NAME.ipynb``: each exercise's student notebook (``mnistlab exercises``; solutions stripped, the
  checks inside). The grading bundles hold the solutions: they are never published; a teacher makes them with
  ``mnistlab exercises``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SMALL_LIMIT = 5000


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    from mnistlab import exercises
    from mnistlab.workflows import playground

    small = os.environ.get("MNISTLAB_TUTORIAL_SIZE", "full") == "small"
    made = Path(tempfile.mkdtemp(prefix="mnistlab-classroom-"))
    playground(made / "playground", limit=SMALL_LIMIT if small else None)
    handout = exercises.assign(made / "handout", run_tests=False)
    for name, folder in handout.items():
        student = folder / "student" / f"{name}.ipynb"
        target = made / "exercises" / name / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        student.rename(target)
    for path in sorted([*(made / "playground").rglob("*"), *(made / "exercises").rglob("*")]):
        if path.is_file():
            uri = path.relative_to(made).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
