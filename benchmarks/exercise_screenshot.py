"""The docs' screenshot of an exercise as a student sees it: the student notebook of ``classification`` with a
wrong precision (the bottom row instead of the right-hand column) and a right threshold, executed, rendered to HTML
by nbconvert and photographed in Chromium.

    python benchmarks/exercise_screenshot.py [--out docs/images/exercise.png]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

ANSWERS = {
    "precision = ...": "precision = confusion[1, 1] / confusion[1, :].sum()",
    "threshold = ...": "precisions, recalls, thresholds = precision_recall_curve(is_five, scores)\n"
    "threshold = thresholds[np.argmax(precisions[:-1] >= 0.90)]",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/exercise.png"))
    args = parser.parse_args()
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from playwright.sync_api import sync_playwright

    from mnistlab import exercises

    work = Path(tempfile.mkdtemp(prefix="exercise-"))
    student = exercises.assign(work, ["classification"], run_tests=False)["classification"] / "student"
    path = student / "classification.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for blank, answer in ANSWERS.items():
            if cell.cell_type == "code" and blank in cell.source:
                cell.source = cell.source.replace(blank, answer)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(student)}}).execute()
    html = student / "answered.html"
    html.write_text(HTMLExporter(template_name="lab").from_notebook_node(notebook)[0])
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        tab = browser.new_page(viewport={"width": 1000, "height": 900})
        tab.goto(html.as_uri())
        first = tab.locator(".jp-Cell").nth(3)  # the first question, its answer and its check
        first.scroll_into_view_if_needed()
        box = tab.locator(".jp-Cell").nth(3).bounding_box()
        end = tab.locator(".jp-Cell").nth(6).bounding_box()
        tab.screenshot(
            path=str(args.out), full_page=True,
            clip={"x": 0, "y": box["y"], "width": 1000, "height": end["y"] + end["height"] - box["y"]},
        )  # fmt: skip
        browser.close()
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
