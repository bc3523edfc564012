"""Every parameter rule of every estimator, data check and workflow, checked once for all of them
(scikit-learn's ``check_param_validation``): each rule's breaking values, and a value of no accepted kind, are
refused with a ``ParameterError`` naming that parameter: estimators at ``fit`` on a tiny array, data checks by
``quality.audit`` before any check runs, workflow functions before their body runs. The rules are found, not
listed: a class's ``_parameter_constraints``, a function's ``@validates`` rules. A rule made anywhere else in the
source fails :func:`test_every_rule_is_declared`."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator

import mnistlab
from mnistlab import quality
from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
from mnistlab.params import Rule

RULE_MAKERS = {"integer", "real", "one_of", "satisfies"}
SOURCE = Path(mnistlab.__file__).parent
# A value no rule accepts: scikit-learn's check_param_validation uses the same made-up type.
BAD_TYPE = type("BadType", (), {"__repr__": lambda self: "BadType()"})()
# Stands in for a workflow's required arguments: the rules run before the body, so it is never touched.
UNTOUCHED = type("Untouched", (), {"__repr__": lambda self: "UNTOUCHED"})()


def _modules() -> list:
    names = [info.name for info in pkgutil.walk_packages(mnistlab.__path__, "mnistlab.")]
    return [importlib.import_module(name) for name in sorted(names) if not name.endswith("__main__")]


def _holders() -> dict[str, object]:
    """``{qualified name: holder}`` of every class with ``_parameter_constraints`` of its own and every function
    or method that ``@validates`` its parameters, in every module of mnistlab."""
    found: dict[str, object] = {}
    for module in _modules():
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: found where it is defined
            name = f"{module.__name__}.{getattr(obj, '__qualname__', '')}"
            if inspect.isclass(obj):
                if "_parameter_constraints" in vars(obj):
                    found[name] = obj
                for attr, member in vars(obj).items():
                    function = getattr(member, "__func__", member)
                    if callable(function) and "_parameter_constraints" in vars(function):
                        found[f"{name}.{attr}"] = getattr(obj, attr)
            elif callable(obj) and "_parameter_constraints" in getattr(obj, "__dict__", {}):
                found[name] = obj
    return found


HOLDERS = _holders()


def _cases() -> list:
    cases = []
    for holder_name, holder in HOLDERS.items():
        for parameter, rule in holder._parameter_constraints.items():
            for value in (*rule.breaking, BAD_TYPE):
                cases.append(
                    pytest.param(holder, parameter, value, id=f"{holder_name}-{parameter}-{value!r}")
                )
    return cases


def _call_with(holder, parameter: str, value) -> None:
    if inspect.isclass(holder):
        rng = np.random.default_rng(0)
        X, y = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), np.arange(12) % 2
        if issubclass(holder, BaseEstimator):  # refused at fit, before any training
            holder(**{parameter: value}).fit(X, y)
        else:  # a data check: refused by the audit before any check runs
            quality.audit({"train": Dataset(X, y, ["a", "b"])}, [holder(**{parameter: value})])
        return
    rules = holder._parameter_constraints
    required = {  # a required parameter with a rule gets a value the rule accepts, the others are never read
        name: rules[name].example if name in rules else UNTOUCHED
        for name, p in inspect.signature(holder).parameters.items()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name != parameter
    }
    holder(**required, **{parameter: value})


@pytest.mark.parametrize(("holder", "parameter", "value"), _cases())
def test_a_value_that_breaks_a_rule_is_refused_naming_its_parameter(holder, parameter, value):
    with pytest.raises(ParameterError) as caught:
        _call_with(holder, parameter, value)
    assert caught.value.parameter == parameter, str(caught.value)


def test_the_holders_are_found():
    """The discovery itself: an estimator, workflows of several subjects, a figure's constructor and a data
    option are among the holders (an empty discovery would pass the test above vacuously)."""
    names = set(HOLDERS)
    for expected in (
        "mnistlab.models.torch_classifier.TorchClassifier",
        "mnistlab.workflows.evaluate.evaluate_run",
        "mnistlab.workflows.train.train_model",
        "mnistlab.workflows.studies.denoise",
        "mnistlab.workflows.robustness.robustness",
        "mnistlab.workflows.sweep.run_sweep",
        "mnistlab.viz.eda.SampleGridDisplay.from_dataset",
        "mnistlab.datasets.loading.check_limit",
        "mnistlab.serve.predict.predict_images",
        "mnistlab.quality.label_errors.LabelErrors",
        "mnistlab.quality.outliers.feature_outlier_scores",
    ):
        assert expected in names, sorted(names)


@pytest.mark.parametrize(
    "holder", [h for h in HOLDERS.values() if inspect.isclass(h) and issubclass(h, BaseEstimator)], ids=str
)
def test_an_estimator_has_a_rule_for_each_parameter(holder):
    """scikit-learn's check: the rules and ``get_params`` name the same parameters, so a new hyper-parameter
    cannot go unchecked."""
    assert set(holder._parameter_constraints) == set(holder().get_params(deep=False))


# ids by name: str() of a function holds its address, which differs between pytest-xdist's workers
@pytest.mark.parametrize(
    "holder", list(HOLDERS.values()), ids=lambda holder: f"{holder.__module__}.{holder.__qualname__}"
)
def test_a_rule_has_values_that_break_it_and_accepts_its_example(holder):
    for parameter, rule in holder._parameter_constraints.items():
        assert isinstance(rule, Rule) and rule.breaking, parameter
        assert rule.accepts(rule.example), f"{parameter}: its rule refuses its own example {rule.example!r}"
        if parameter in inspect.signature(holder).parameters:
            default = inspect.signature(holder).parameters[parameter].default
            assert default is inspect.Parameter.empty or not any(
                default is v or (default == v and type(default) is type(v)) for v in rule.breaking
            ), f"{parameter}: its default {default!r} breaks its own rule"


@functools.cache
def _sources() -> dict[Path, list[ast.AST]]:
    """Every node of every source file but params.py, by file (parsed once for the tests below)."""
    return {
        path: list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name != "params.py"
    }


def _rule_calls(path: Path) -> list[str]:
    """``file:line`` of each call that makes a rule (``integer(...)``, ``params.real(...)``, ...) in a file."""
    calls = []
    for node in _sources()[path]:
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in RULE_MAKERS:
                calls.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    return calls


def _imports_rules(path: Path) -> bool:
    return any(
        (isinstance(node, ast.ImportFrom) and node.module == "mnistlab.params")
        or (isinstance(node, ast.Import) and "mnistlab.params" in [a.name for a in node.names])
        for node in _sources()[path]
    )


def test_every_rule_is_declared():
    """Each rule made in the source belongs to a holder that the parametrized test above finds: as many rules
    as rule-making calls (a rule shared by two holders is made once). A rule passed straight to
    ``check_params``, or kept where no class or function declares it, would be checked by no test: it fails
    here."""
    declared: dict[int, list[str]] = {}
    for name, holder in HOLDERS.items():
        for parameter, rule in holder._parameter_constraints.items():
            declared.setdefault(id(rule), []).append(f"{name}: {parameter}")
    calls = [call for path in _sources() if _imports_rules(path) for call in _rule_calls(path)]
    assert len(calls) == len(declared), (
        f"{len(calls)} rules made in the source but {len(declared)} declared on a class's "
        f"_parameter_constraints or a @validates function; made at: {', '.join(calls)}; declared: "
        + "; ".join(", ".join(names) for names in declared.values())
    )


def test_check_params_is_only_given_declared_rules():
    """Outside params.py, ``check_params`` checks an estimator's own ``_parameter_constraints``, never rules
    written at the call."""
    for path, nodes in _sources().items():
        for node in nodes:
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_params":
                rules = node.args[2] if len(node.args) > 2 else None
                assert getattr(rules, "attr", None) == "_parameter_constraints", f"{path}:{node.lineno}"
