"""The sweep file and the plan it makes: data sets x models x parameter grids x seeds, every name and value
checked before anything runs (``workflows.sweep`` runs the plan).

A sweep file (TOML) names the data sets, the models with a grid (or a random sample of it) of parameter values,
the seeds and the output folder::

    name = "tiny"
    out = "runs/sweeps/tiny"
    data = ["mnist"]
    seeds = [0, 1]
    limit = 2000                      # optional: the first N training images (N // 6 test images)

    [[models]]
    name = "knn"
    grid = { n_neighbors = [3, 5] }

    [[models]]
    name = "random-forest"
    grid = { n_estimators = [50, 100, 200], criterion = ["gini", "entropy"] }
    sample = 3                        # optional: 3 of the 6 combinations, drawn with sample_seed (default 0)

A grid is expanded by scikit-learn's ``ParameterGrid``, a sample drawn by ``ParameterSampler``. An optional
``[reference]`` table gives accuracies to compare with (published figures)::

    [reference]
    knn = { mnist = 0.959 }           # summary.csv gains reference_accuracy and difference

Examples
--------
>>> plan = read_sweep("sweep.toml")  # doctest: +SKIP
>>> len(plan.trials), plan.trials[0]  # doctest: +SKIP
(20, Trial(data='mnist', model='knn', params=(('n_neighbors', 3),), seed=0))
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mnistlab import models
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.fileio import MAX_TEXT_BYTES, read_bounded

PLAN_FILE = "sweep.json"
MAX_TRIALS = (
    1000  # a sweep file asking for more is refused unless max_trials is raised (a typo can ask for 10**6)
)
SWEEP_KEYS = {"name", "out", "data", "seeds", "limit", "models", "validation_fraction", "reference"}
MODEL_KEYS = {"name", "grid", "sample", "sample_seed", "seeds", "reference"}


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: a model with its parameter values on one data set with one seed."""

    data: str
    model: str
    params: tuple[tuple[str, object], ...]
    seed: int

    @property
    def params_text(self) -> str:
        return json.dumps(dict(self.params), sort_keys=True)

    @property
    def key(self) -> str:
        """A stable name for the trial: the same trial in a resumed sweep finds its folder again."""
        text = json.dumps([self.data, self.model, self.params_text, self.seed])
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def folder(self, out: Path) -> Path:
        return out / "trials" / f"{self.model}-{Path(self.data).stem}-s{self.seed}-{self.key}"


@dataclass
class SweepPlan:
    name: str
    out: Path
    trials: list[Trial]
    limit: int | None = None
    validation_fraction: float = 0.1
    source: str = ""  # the sweep file, for messages
    # Accuracies to compare with (published figures): {model: {data: accuracy}}; not part of the identity.
    references: dict[str, dict[str, float]] = field(default_factory=dict)

    def identity(self) -> dict:
        """What makes two plans the same sweep (an output folder holds one sweep)."""
        return {"name": self.name, "limit": self.limit, "validation_fraction": self.validation_fraction}


def read_sweep(path: str | Path, max_trials: int = MAX_TRIALS) -> SweepPlan:
    """Read and check a sweep file.

    Every model and parameter name and value is checked before anything runs, and the number of trials is
    counted before any grid is expanded.

    Parameters
    ----------
    path : str or Path
        The sweep file (TOML, at most 1 MB).
    max_trials : int
        More trials than this are refused.

    Returns
    -------
    SweepPlan
        Its ``name``, ``out`` folder, ``trials`` (data set x model x parameters x seed), ``limit`` and
        ``references``.

    Raises
    ------
    ParameterError
        Naming the file, the key and what was expected.

    Examples
    --------
    >>> plan = read_sweep("examples/sweep.toml")  # doctest: +SKIP
    >>> len(plan.trials)  # doctest: +SKIP
    10
    """
    path = Path(path)
    try:
        config = tomllib.loads(read_bounded(path, "a sweep file", MAX_TEXT_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise MnistlabError(f"{path}: sweep file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MnistlabError(
            f"{path}: not a readable TOML sweep file ({str(exc)[:200] or 'nested too deeply'})"
        ) from None
    where = str(path)
    _no_unknown(config, SWEEP_KEYS, where)
    for key in ("name", "out", "data", "models"):
        if key not in config:
            raise ParameterError(f"{where}: missing '{key}'")
    for key in ("name", "out"):
        if not isinstance(config[key], str) or not config[key].strip():
            raise ParameterError(key, config[key], "a non-empty string", owner=where, from_file=True)
    data = _strings(config["data"], f"{where}: data")
    seeds = _seeds(config.get("seeds", [0]), where)
    limit = config.get("limit")
    if limit is not None and (not _is_int(limit) or limit < 10):
        raise ParameterError("limit", limit, "an integer >= 10", owner=where, from_file=True)
    fraction = config.get("validation_fraction", 0.1)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction < 1:
        raise ParameterError(
            "validation_fraction", fraction, "a number in [0, 1)", owner=where, from_file=True
        )
    if not isinstance(config["models"], list) or not config["models"]:
        raise ParameterError(f"{where}: 'models' must hold at least one [[models]] table")
    _check_count(config, data, seeds, max_trials, where)
    trials, own_references = [], {}
    for i, entry in enumerate(config["models"]):
        combos = _model_combos(entry, f"{where}: models[{i}]")
        model_seeds = _seeds(entry["seeds"], f"{where}: models[{i}]") if "seeds" in entry else seeds
        trials += [
            Trial(d, name, params, seed) for d in data for name, params in combos for seed in model_seeds
        ]
        if "reference" in entry:  # this entry's configurations only (e.g. one kernel of a model swept twice)
            accuracies = _accuracies(entry["reference"], data, f"{where}: models[{i}].reference")
            own_references |= {reference_key(name, combo): accuracies for name, combo in combos}
    references = _references(config.get("reference", {}), data, {t.model for t in trials}, where)
    references |= own_references
    return SweepPlan(
        str(config["name"]),
        Path(config["out"]),
        trials,
        limit,
        float(fraction),
        where,
        references,
    )


def _check_count(config: dict, data: list[str], seeds: list[int], max_trials: int, where: str) -> None:
    """Count the trials from the grids' sizes (their product is never built) and refuse more than
    ``max_trials``."""
    from sklearn.model_selection import ParameterGrid

    total = 0
    for entry in config["models"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("grid", {}), dict):
            continue  # named precisely by _model_combos
        grid = entry.get("grid", {})
        if not all(isinstance(v, list) and v for v in grid.values()):
            continue
        combinations = len(ParameterGrid(grid))
        sample = entry.get("sample")
        if _is_int(sample) and sample >= 1:
            combinations = min(combinations, sample)
        model_seeds = entry.get("seeds", seeds)
        total += combinations * len(data) * (len(model_seeds) if isinstance(model_seeds, list) else 1)
    if total > max_trials:
        raise ParameterError(
            f"{where}: {total:,} trials (data x grid combinations x seeds), more than max_trials={max_trials}; "
            "draw fewer with sample = N, or allow them with max_trials"
        )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reference_key(model: str, params: tuple | str) -> str:
    """Where a ``[[models]]`` entry's own reference is kept: the model and its parameter values."""
    text = params if isinstance(params, str) else json.dumps(dict(params), sort_keys=True)
    return f"{model} {text}"


def reference_for(references: dict, model: str, params: str, data: str) -> float | None:
    """The reference accuracy of a configuration on a data set: its entry's own, else its model's, else None."""
    return references.get(reference_key(model, params), references.get(model, {})).get(data)


def _references(table, data: list[str], model_names: set[str], where: str) -> dict[str, dict[str, float]]:
    """``[reference]``: ``model = { data = accuracy, ... }`` for models and data sets of this sweep."""
    if not isinstance(table, dict):
        raise ParameterError(f"{where}: reference must be a table of model = {{ data = accuracy }}")
    for model in table:
        if model not in model_names:
            raise ParameterError(f"{where}: reference names model {model!r}, which the sweep does not train")
    return {
        model: _accuracies(by_data, data, f"{where}: reference.{model}") for model, by_data in table.items()
    }


def _accuracies(by_data, data: list[str], where: str) -> dict[str, float]:
    """``{ data = accuracy }`` for data sets of this sweep."""
    if not isinstance(by_data, dict):
        raise ParameterError(f"{where} must be a table of data = accuracy")
    for name, value in by_data.items():
        if name not in data:
            raise ParameterError(f"{where} names data {name!r}; the sweep's data: {', '.join(data)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ParameterError(f"{where}.{name} = {value!r}; expected an accuracy in [0, 1]")
    return {name: float(value) for name, value in by_data.items()}


def _model_combos(entry: dict, where: str) -> list[tuple[str, tuple]]:
    if not isinstance(entry, dict):
        raise ParameterError(f"{where}: expected a table with name and grid")
    _no_unknown(entry, MODEL_KEYS, where)
    name = entry.get("name")
    if not isinstance(name, str):
        raise ParameterError(f"{where}: missing the model's 'name'")
    spec = models.get_spec(name)  # unknown model: a clear error with suggestions
    grid = entry.get("grid", {})
    if not isinstance(grid, dict):
        raise ParameterError(f"{where} ({name}): grid must be a table of parameter = [values]")
    for param, values in grid.items():
        if param not in spec.parameter_names():
            raise ParameterError(
                f"{where} ({name}): unknown parameter {param!r}; its parameters: "
                f"{', '.join(spec.parameter_names())}"
            )
        if not isinstance(values, list) or not values:
            raise ParameterError(
                f"{where} ({name}): grid {param} = {values!r}; expected a non-empty list of values"
            )
    sample = entry.get("sample")
    if sample is not None and (not _is_int(sample) or sample < 1):
        raise ParameterError("sample", sample, "an integer >= 1", owner=f"{where} ({name})", from_file=True)
    sample_seed = entry.get("sample_seed", 0)
    if not _is_int(sample_seed) or not 0 <= sample_seed < 2**32:
        raise ParameterError(
            "sample_seed", sample_seed, "an integer 0..2**32-1", owner=f"{where} ({name})", from_file=True
        )
    combos = [tuple(sorted(params.items())) for params in _expand(grid, sample, sample_seed)]
    for combo in combos:
        try:
            estimator = models.create(
                name, **dict(combo)
            )  # every value checked now, not an hour into the sweep
            if spec.kind == "torch":  # a network too large for this machine: refused before any trial
                from mnistlab.models import check_fits_in_memory

                batch = min(estimator.batch_size, 60_000)
                check_fits_in_memory(estimator.architecture, 10, estimator.width, 784, batch)
        except ParameterError as exc:  # a model's parameter, read from the sweep file
            error = exc.within(f"{where} ({name})")
            error.from_file = True
            raise error from None
    return [(name, combo) for combo in combos]


def _expand(grid: dict[str, list], sample: int | None, sample_seed: int) -> list[dict]:
    """Every combination of the grid's values (scikit-learn's ``ParameterGrid``), or ``sample`` of them drawn
    without replacement (``ParameterSampler``; all of them when the grid is smaller).

    Examples
    --------
    >>> _expand({"k": [3, 5], "p": [1]}, None, 0)
    [{'k': 3, 'p': 1}, {'k': 5, 'p': 1}]
    >>> len(_expand({"k": [1, 2, 3, 4]}, 2, 0))
    2
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    every = ParameterGrid(grid)
    if sample is None or sample >= len(every):
        return list(every)
    return list(ParameterSampler(grid, sample, random_state=sample_seed))


def _seeds(seeds, where: str) -> list[int]:
    """Seeds of the sweep, or of one model (a deterministic model needs one)."""
    if not isinstance(seeds, list) or not seeds or not all(_is_int(s) and 0 <= s < 2**32 for s in seeds):
        raise ParameterError(
            "seeds", seeds, "a list of integers >= 0, e.g. [0, 1, 2]", owner=where, from_file=True
        )
    if len(set(seeds)) != len(seeds):
        raise ParameterError(f"{where}: seeds={seeds!r} repeats a seed; each seed is one trial")
    return seeds


def _strings(value, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise ParameterError(f"{where}: expected a data set name or path, or a list of them")
    return items


def _no_unknown(table: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ParameterError(f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(known))}")
