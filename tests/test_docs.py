"""The front door: README, documentation site, tutorials, docstrings of the public API, results page.

The site itself is built by `make test` (`mkdocs build --strict`, tutorials at small size); these tests check
what that build cannot: that nothing is left out of it and that the generated results page is faithful.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "docs" / "hooks"))
import docstring_roles  # noqa: E402
import results_page  # noqa: E402

# The functions a newcomer meets first: each documents every parameter, what it returns, and an example.
FRONT_DOOR = [
    "mnistlab.datasets.load",
    "mnistlab.datasets.train_and_test",
    "mnistlab.datasets.from_csv",
    "mnistlab.datasets.from_idx",
    "mnistlab.datasets.from_image_folder",
    "mnistlab.datasets.from_npz",
    "mnistlab.datasets.export",
    "mnistlab.models.create",
    "mnistlab.models.torch_classifier.TorchClassifier",
    "mnistlab.models.torch_classifier.TorchClassifier.fit",
    "mnistlab.models.torch_classifier.TorchClassifier.predict_set",
    "mnistlab.runs.store.load",
    "mnistlab.runs.store.load_run",
    "mnistlab.runs.folder.list_runs",
    "mnistlab.serve.export_onnx",
    "mnistlab.serve.load_onnx",
    "mnistlab.evaluation.evaluate_estimator",
    "mnistlab.serve.predict_images",
    "mnistlab.serve.predict_submission",
    "mnistlab.datasets.register",
    "mnistlab.datasets.load_splits",
    "mnistlab.datasets.fetch",
    "mnistlab.datasets.verify",
    "mnistlab.datasets.start_decisions",
    "mnistlab.datasets.record_decision",
    "mnistlab.datasets.apply_fixes",
    "mnistlab.datasets.write_fixed",
    "mnistlab.datasets.Dataset",
    "mnistlab.datasets.train_val_split",
    "mnistlab.representations.features",
    "mnistlab.representations.similarity_graph",
    "mnistlab.viz.ConfusionDisplay",
    "mnistlab.viz.PredictionGridDisplay",
    # every workflow: what each command of the command line does
    *(f"mnistlab.workflows.{name}" for name in importlib.import_module("mnistlab.workflows").__all__),
]


def _object(dotted: str):
    """The object a dotted name means as a user writes it: a package's attribute before its submodule."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, name in enumerate(parts[1:], start=1):
        obj = getattr(obj, name) if hasattr(obj, name) else importlib.import_module(".".join(parts[: i + 1]))
    return obj


@pytest.mark.parametrize("dotted", FRONT_DOOR)
def test_front_door_docstrings_are_numpydoc_with_every_parameter(dotted):
    obj = _object(dotted)
    doc = inspect.getdoc(obj) or ""
    assert "Parameters\n----------" in doc, f"{dotted}: no Parameters section"
    assert "Examples\n--------" in doc, f"{dotted}: no Examples section"
    if not inspect.isclass(obj) and inspect.signature(obj).return_annotation not in (None, "None"):
        assert "Returns\n-------" in doc, f"{dotted}: no Returns section"
    section = doc.split("Parameters\n----------", 1)[1].split("\n\n\n")[0]
    section = re.split(r"\n(?:Returns|Raises|Attributes|Examples)\n-{5,}", section)[0]
    documented = {
        name.strip()
        for line in section.splitlines()
        if line and not line[0].isspace()
        for name in line.split(" : ")[0].split(",")
    }
    params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    missing = [p for p in params if p not in documented and f"**{p}" not in documented]
    assert not missing, f"{dotted}: parameters without a description: {missing}"


def _nav_files(nav) -> list[str]:
    found = []
    for item in nav:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                found += _nav_files(value) if isinstance(value, list) else [value]
    return found


def _mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_every_page_and_tutorial_is_in_the_site_navigation():
    nav = set(_nav_files(_mkdocs_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    tutorials = {p.relative_to(DOCS).as_posix() for p in (DOCS / "tutorials").glob("*.py")}
    assert pages | tutorials <= nav, f"not in mkdocs.yml's nav: {sorted((pages | tutorials) - nav)}"
    assert len(tutorials) == 5
    index = (DOCS / "tutorials" / "index.md").read_text()
    assert all(Path(t).name in index for t in tutorials)


@pytest.mark.parametrize("tutorial", sorted((DOCS / "tutorials").glob("*.py")), ids=lambda p: p.stem)
def test_tutorial_is_a_percent_notebook_with_a_size_parameter_and_the_published_numbers(tutorial):
    text = tutorial.read_text()
    assert "#     formats: py:percent" in text
    cells = text.split("\n# %%")
    parameters = [c for c in cells if c.startswith(' tags=["parameters"]')]
    assert len(parameters) == 1, "one parameters cell (papermill's convention)"
    assert 'os.environ.get("MNISTLAB_TUTORIAL_SIZE", "full")' in parameters[0]
    assert "Published beside measured" in text or "claims beside what was measured" in text
    compile(text, str(tutorial), "exec")  # valid Python: it runs as a script too


def test_readme_is_a_short_front_door_whose_links_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160
    assert readme.splitlines()[0] == "# mnistlab"
    for section in ("## Install", "## The two commands", "## Python in ten lines", "## The command line"):
        assert section in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert links
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
    # The two commands are the Makefile's, and CI runs the second.
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_states_no_session_jargon():
    text = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in DOCS.rglob("*.md"))
    for phrase in ("this session", "first session", "of the measured matmul peak"):
        assert phrase not in text, phrase


def test_results_page_has_every_results_file_with_its_machine():
    page = results_page.render_page()
    files = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    for path in files:
        assert f"## {path.stem} {{ #{path.stem} }}" in page
    index = page.split("\n\n## ")[0]
    rows = [line for line in index.splitlines() if line.startswith("| [")]
    assert len(rows) == len(files)
    assert all(not row.rstrip(" |").endswith("not recorded") for row in rows), (
        "a results file without a machine"
    )


def test_results_page_renders_tables_from_made_up_results(tmp_path):
    (tmp_path / "2030-01-01-0000-x-full.json").write_text(
        json.dumps(
            {
                "date": "2030-01-01 00:00",
                "size": "full",
                "machine": {"cpu_count": 2, "simd": ["avx2", "avx512f"], "load_average": [0.1, 0.2, 0.3]},
                "versions": {"torch": "2.13.0"},
                "speed": {
                    "mnist cnn": {"accuracy": 0.991234, "seconds": 2.0},
                    "fashion cnn": {"accuracy": 0.9},
                },
                "rows": [{"seed": 0, "acc|uracy": 0.99}],
            }
        )
    )
    page = results_page.render_page(tmp_path)
    assert "2-core Intel Xeon, AVX-512 without native bf16" in page
    assert "|  | accuracy | seconds |" in page and "| mnist cnn | 0.9912 | 2 |" in page
    assert "| fashion cnn | 0.9 |  |" in page
    assert "acc\\|uracy" in page  # a pipe in a key cannot break the table
    (tmp_path / "2030-01-02-0000-x-full.json").write_text("{not json")
    with pytest.raises(ValueError, match="2030-01-02-0000-x-full.json: not valid JSON"):
        results_page.render_page(tmp_path)


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        (["avx2", "avx512f", "avx512_bf16", "amx_bf16"], "Intel Xeon, AVX-512 with native bf16 and AMX"),
        (["avx2", "avx512f", "avx512_bf16"], "AMD EPYC, AVX-512 with native bf16"),
        (["avx2", "avx512f"], "Intel Xeon, AVX-512 without native bf16"),
        (["avx2", "fma"], "AVX2 only"),
    ],
)
def test_machine_kind_from_flags(flags, kind):
    assert results_page.machine_kind({"simd": flags, "cpu_count": 2}) == f"2-core {kind}"
    assert results_page.machine_kind({}) == "not recorded"


def _python_block(text: str, heading: str) -> str:
    after = text.split(heading, 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "heading"),
    [("README.md", "## Python in ten lines"), ("docs/getting-started.md", "## First steps in Python")],
)
def test_python_quickstart_runs_as_written(page, heading, real_data, tmp_path, monkeypatch):
    """The ten lines a newcomer copies first: they run on the real MNIST and give a good model."""
    import matplotlib

    matplotlib.use("Agg")
    real_data("mnist", "train")  # fetched and cached once (the mark)
    monkeypatch.chdir(tmp_path)
    code = _python_block((ROOT / page).read_text(), heading)
    assert len(code.strip().splitlines()) <= 10
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["ev"].accuracy > 0.98
    sets = scope["clf"].predict_set(scope["test"].images[:100], alpha=0.1)
    assert sets.shape == (100, 10) and sets.any(axis=1).mean() > 0.5


def test_sphinx_roles_of_docstrings_render_as_plain_code():
    html = "see :func:<code>load</code>, :class:<code>~mnistlab.datasets.Dataset</code> and :mod:<code>x.y</code>"
    assert docstring_roles.plain(html) == "see <code>load</code>, <code>Dataset</code> and <code>x.y</code>"
