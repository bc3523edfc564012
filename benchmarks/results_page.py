"""The documentation's "Benchmark results" page, generated from `benchmarks/results/*.json` at build time.

A mkdocs hook (named in `mkdocs.yml`): the page `docs/results.md` holds the marker `<!-- results -->`, which is
replaced by an index of every results file (one row per file, with the machine it ran on) and then one section
per file with each benchmark's values as tables. Nothing is typed by hand, so the page can never disagree with
the files; a file that is not valid JSON fails the build (`mkdocs build --strict`) with its name.

The JSON of each benchmark is free-form (each benchmark writes what it measured); the rendering is generic:
a dict of dicts becomes a table (one row per key, one column per inner key), a list of dicts a table, anything
else a key/value table. Floats are shown with 4 significant digits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
MARKER = "<!-- results -->"
META = ("date", "size", "benchmarks", "machine", "versions", "machine_kind")


def avx512_kind(flags: set[str]) -> str | None:
    """How an AVX-512 CPU runs bf16, from its flags (the project's machine kinds); None below AVX-512.

    >>> avx512_kind({"avx512f", "avx512_bf16"})
    'AVX-512 with native bf16'
    """
    if "amx_bf16" in flags:
        return "AVX-512 with native bf16 and AMX"
    if "avx512_bf16" in flags:
        return "AVX-512 with native bf16"
    if "avx512f" in flags:
        return "AVX-512 without native bf16"
    return None


def machine_kind(machine: dict[str, Any]) -> str:
    """Name the project's machine kind from the SIMD flags a results file recorded.

    >>> machine_kind({"simd": ["avx2", "avx512f", "avx512_bf16", "amx_bf16"], "cpu_count": 2})
    '2-core Intel Xeon, AVX-512 with native bf16 and AMX'
    >>> machine_kind({"simd": ["avx2", "avx512f"], "cpu_count": 2})
    '2-core Intel Xeon, AVX-512 without native bf16'
    """
    flags = set(machine.get("simd") or [])
    cores = f"{machine.get('cpu_count', '?')}-core "
    kind = avx512_kind(flags)
    if (
        kind is not None
    ):  # older files did not record the vendor: AMX is Intel's, native bf16 without it AMD's
        vendor = "AMD EPYC" if kind == "AVX-512 with native bf16" else "Intel Xeon"
        return cores + f"{vendor}, {kind}"
    if flags:
        return cores + "AVX2 only"
    if "bf16" in machine:  # older files recorded only PyTorch's bf16 flag, which is True on every AVX-512 CPU
        return cores + f"CPU kind not recorded (PyTorch bf16 flag {machine['bf16']})"
    return "not recorded"


def fmt(value: Any) -> str:
    """One table cell: floats to 4 significant digits, containers as short JSON, pipes escaped."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(_rounded(value), separators=(", ", ": "))
        if len(text) > 300:
            text = text[:297] + "..."
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(fmt(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_value(value: Any) -> str:
    """A benchmark's recorded value as markdown tables."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        cols = list(dict.fromkeys(k for v in value for k in v))
        return table(cols, [[v.get(c, "") for c in cols] for v in value])
    if not isinstance(value, dict):
        return table(["value"], [[value]])
    nested = {k: v for k, v in value.items() if isinstance(v, dict) and v}
    scalars = {k: v for k, v in value.items() if k not in nested}
    parts = []
    if len(nested) >= 2 and all(not any(isinstance(x, dict) for x in v.values()) for v in nested.values()):
        cols = list(dict.fromkeys(k for v in nested.values() for k in v))
        parts.append(
            table(["", *cols], [[name, *(v.get(c, "") for c in cols)] for name, v in nested.items()])
        )
    else:
        scalars = value
    if scalars:
        parts.append(table(["key", "value"], [[k, v] for k, v in scalars.items()]))
    return "\n\n".join(parts)


def _machine(data: dict[str, Any]) -> dict[str, Any]:
    machine = data.get("machine")
    return machine if isinstance(machine, dict) else {}


def load_results(folder: Path = RESULTS) -> list[tuple[str, dict[str, Any]]]:
    """Every results file, newest (by its recorded date) first, as (stem, content)."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append((path.stem, json.loads(path.read_text())))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    return sorted(found, key=lambda item: str(item[1].get("date", "")), reverse=True)


def render_page(folder: Path = RESULTS) -> str:
    """The index table and one section per results file."""
    results = load_results(folder)
    index = []
    for stem, data in results:
        # files of the suite list their benchmarks; the one-off scripts' files are named after what they measure
        names = data.get("benchmarks") or [stem.split("-20")[0] if not stem[0].isdigit() else "suite"]
        kind = data.get("machine_kind") or machine_kind(_machine(data))
        index.append(
            [f"[{stem}](#{stem})", data.get("date", ""), data.get("size", ""), ", ".join(names), kind]
        )
    parts = [table(["results file", "date", "size", "benchmarks", "machine"], index)]
    for stem, data in results:
        machine = _machine(data)
        kind = data.get("machine_kind") or machine_kind(machine)
        versions = data.get("versions") or {}
        head = [f"## {stem} {{ #{stem} }}", ""]
        head.append(f"Date {data.get('date', '?')}, size {data.get('size', '-')}, machine: **{kind}**")
        if machine.get("load_average") is not None:
            head[-1] += f", load average before {fmt(list(machine['load_average']))}"
        head.append("; versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
        parts.append("\n".join(head))
        for key, value in data.items():
            if key in META:
                continue
            parts.append(f"### {key}\n\n{render_value(value)}")
    return "\n\n".join(parts) + "\n"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """mkdocs hook: fill the results page."""
    if MARKER in markdown:
        return markdown.replace(MARKER, render_page())
    return markdown
