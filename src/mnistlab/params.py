"""Parameter checks in one place, in the spirit of scikit-learn's ``_parameter_constraints``: each estimator
lists a rule per parameter, and a bad value is refused before any data is touched, naming the parameter and
what it accepts.

Examples
--------
>>> check_params("mlp", {"epochs": 0}, {"epochs": integer(low=1)})
Traceback (most recent call last):
...
mnistlab.errors.ParameterError: mlp: epochs=0; expected an integer >= 1
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mnistlab.errors import ParameterError


@dataclass(frozen=True)
class Rule:
    accepts: Callable[[Any], bool]
    expected: str


def one_of(*values: Any, none: bool = False) -> Rule:
    allowed = ", ".join(repr(v) for v in values) + (" or None" if none else "")
    return Rule(lambda v: (none and v is None) or (isinstance(v, str) and v in values), f"one of {allowed}")


def _in_range(value: Any, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    above = low is None or (value > low if low_open else value >= low)
    below = high is None or (value < high if high_open else value <= high)
    return above and below


def _describe(kind: str, low, high, low_open: bool, high_open: bool, none: bool) -> str:
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high}")
    return f"{kind} {' and '.join(bounds)}".strip() + (" or None" if none else "")


def integer(low: int | None = None, high: int | None = None, none: bool = False) -> Rule:
    def accepts(v: Any) -> bool:
        if none and v is None:
            return True
        is_int = isinstance(v, numbers.Integral) and not isinstance(v, bool)
        return is_int and _in_range(v, low, high, False, False)

    return Rule(accepts, _describe("an integer", low, high, False, False, none))


def real(
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    none: bool = False,
) -> Rule:
    def accepts(v: Any) -> bool:
        if none and v is None:
            return True
        is_real = isinstance(v, numbers.Real) and not isinstance(v, bool)
        return is_real and v == v and _in_range(v, low, high, low_open, high_open)  # v == v: not NaN

    return Rule(accepts, _describe("a number", low, high, low_open, high_open, none))


def satisfies(check: Callable[[Any], None], expected: str) -> Rule:
    """A rule whose ``check`` raises ``ParameterError`` (with its own message) for a bad value."""

    def accepts(v: Any) -> bool:
        check(v)
        return True

    return Rule(accepts, expected)


def check_params(owner: str, params: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise :class:`ParameterError` for the first parameter whose value breaks its rule."""
    for name, rule in rules.items():
        if name in params and not rule.accepts(params[name]):
            raise ParameterError(name, params[name], rule.expected, owner=owner)
