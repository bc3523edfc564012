"""Parameter rules as data, in the spirit of scikit-learn's ``_parameter_constraints``: an estimator lists a
rule per parameter in its ``_parameter_constraints``, a workflow function declares its rules with
:func:`validates`, and a bad value is refused before any data is touched, naming the parameter and what it
accepts. Every rule also knows values that break it (:attr:`Rule.breaking`) and one it accepts
(:attr:`Rule.example`), as scikit-learn's ``generate_invalid_param_val`` and ``generate_valid_param`` derive them,
so one common test checks every rule of every estimator and workflow (``tests/test_parameter_rules.py``).

Examples
--------
>>> check_params("mlp", {"epochs": 0}, {"epochs": integer(low=1)})
Traceback (most recent call last):
...
mnistlab.errors.ParameterError: mlp: epochs=0; expected an integer >= 1
>>> integer(low=1, high=255).breaking
(0, 256, 1.5, None)
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from mnistlab.errors import ParameterError

Function = TypeVar("Function", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts: ``accepts(value)`` says whether a value is accepted (or raises its own
    ``ParameterError``), ``expected`` says it in words for the error, ``breaking`` holds values that break the
    rule (each bound crossed, a value of the wrong kind) and ``example`` a value it accepts, for the tests that
    check every rule is enforced.

    Examples
    --------
    >>> rule = one_of("adam", "sgd")
    >>> rule.accepts(rule.example), rule.accepts(rule.breaking[0]), rule.expected
    (True, False, "one of 'adam', 'sgd'")
    """

    accepts: Callable[[Any], bool]
    expected: str
    breaking: tuple[Any, ...]
    example: Any

    def __post_init__(self) -> None:
        # a rule nothing breaks would be checked by no test: refused where it is made
        if not self.breaking:
            raise ValueError(f"the rule '{self.expected}' needs at least one value that breaks it")


def one_of(*values: Any, none: bool = False) -> Rule:
    """A rule for one of the given strings (or None, with ``none``).

    Examples
    --------
    >>> rule = one_of("flip", none=True)
    >>> rule.accepts(None), rule.accepts("spin"), rule.expected, rule.breaking
    (True, False, "one of 'flip' or None", ('not flip',))
    """
    allowed = ", ".join(repr(v) for v in values) + (" or None" if none else "")
    breaking = (f"not {' or '.join(map(str, values))}",) + (() if none else (None,))
    return Rule(
        lambda v: (none and v is None) or (isinstance(v, str) and v in values),
        f"one of {allowed}",
        breaking,
        example=values[0] if values else None,
    )


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
    """A rule for a whole number (not a bool) from ``low`` to ``high`` (either may be left open), or None with
    ``none``. It is broken by the integers just past each bound, a fraction and (without ``none``) None.

    Examples
    --------
    >>> rule = integer(low=1, none=True)
    >>> rule.accepts(3), rule.accepts(True), rule.accepts(None), rule.expected, rule.breaking
    (True, False, True, 'an integer >= 1 or None', (0, 1.5))
    """

    def accepts(v: Any) -> bool:
        if none and v is None:
            return True
        is_int = isinstance(v, numbers.Integral) and not isinstance(v, bool)
        return is_int and _in_range(v, low, high, False, False)

    example = low if low is not None else high if high is not None else 0
    below = () if low is None else (low - 1,)
    above = () if high is None else (high + 1,)
    breaking = below + above + (example + 0.5,) + (() if none else (None,))
    return Rule(accepts, _describe("an integer", low, high, False, False, none), breaking, example)


def real(
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    none: bool = False,
) -> Rule:
    """A rule for a number (not a bool, not NaN) within the bounds, each closed or open (``low_open``:
    ``> low``), or None with ``none``. It is broken by the bound itself where the bound is open, a number
    below or above it where it is closed, NaN and (without ``none``) None.

    Examples
    --------
    >>> rule = real(low=0, high=1, high_open=True)
    >>> rule.accepts(0), rule.accepts(1), rule.expected, rule.breaking
    (True, False, 'a number >= 0 and < 1', (-1, 1, nan, None))
    """

    def accepts(v: Any) -> bool:
        if none and v is None:
            return True
        is_real = isinstance(v, numbers.Real) and not isinstance(v, bool)
        return is_real and v == v and _in_range(v, low, high, low_open, high_open)  # v == v: not NaN

    below = () if low is None else (low if low_open else low - 1,)
    above = () if high is None else (high if high_open else high + 1,)
    breaking = below + above + (float("nan"),) + (() if none else (None,))
    if low is not None and high is not None:
        example = (low + high) / 2
    else:
        example = low + 1 if low is not None else high - 1 if high is not None else 0.0
    return Rule(accepts, _describe("a number", low, high, low_open, high_open, none), breaking, example)


def satisfies(check: Callable[[Any], None], expected: str, breaking: tuple[Any, ...], example: Any) -> Rule:
    """A free-form rule: ``check`` raises ``ParameterError`` (with its own message, naming the parameter) for a
    bad value; ``breaking`` gives values it refuses and ``example`` one it accepts, since no bound says which.

    Examples
    --------
    >>> def check_odd(v):
    ...     if v % 2 != 1:
    ...         raise ParameterError("k", v, "an odd number")
    >>> satisfies(check_odd, "an odd number", breaking=(2,), example=3).accepts(2)
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: k=2; expected an odd number
    """

    def accepts(v: Any) -> bool:
        check(v)
        return True

    return Rule(accepts, expected, tuple(breaking), example)


def rule_set(**rules: Rule) -> Mapping[str, Rule]:
    """The rules of a class's settings, read-only (a class attribute is shared by every instance and subclass).

    Examples
    --------
    >>> rules = rule_set(k=integer(low=1))
    >>> rules["k"].expected
    'an integer >= 1'
    """
    return MappingProxyType(rules)


def check_params(owner: str | None, params: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise :class:`ParameterError` for the first parameter whose value breaks its rule.

    Examples
    --------
    >>> check_params("denoise", {"noise": 50}, {"noise": integer(low=1, high=255)}) is None
    True
    """
    for name, rule in rules.items():
        if name not in params:
            continue
        try:
            accepted = rule.accepts(params[name])
        except ParameterError as error:
            # a free-form rule's own message: said for its owner, as the other rules' are
            raise (error if error.owner is not None or owner is None else error.within(owner)) from None
        if not accepted:
            raise ParameterError(name, params[name], rule.expected, owner=owner)


def validates(owner: str | None, **rules: Rule) -> Callable[[Function], Function]:
    """Decorate a function so that its arguments are checked against ``rules`` (one per parameter name) before
    its body runs, so before any data is read or model trained; the rules stay on the function as
    ``_parameter_constraints``, where the common tests find them. ``owner`` names it in the error (None: a
    helper whose caller is named by the parameter alone).

    Examples
    --------
    >>> @validates("blur", radius=integer(low=1, high=9))
    ... def blur(image, radius=1):
    ...     return image
    >>> blur(None, radius=0)
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: blur: radius=0; expected an integer >= 1 and <= 9
    >>> list(blur._parameter_constraints)
    ['radius']
    """

    def decorate(function: Function) -> Function:
        signature = inspect.signature(function)
        unknown = sorted(set(rules) - set(signature.parameters))
        if unknown:  # a rule for a parameter that does not exist would never be checked
            raise TypeError(f"{function.__qualname__} has no parameter {unknown[0]!r} to validate")

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_params(owner, bound.arguments, rules)
            return function(*args, **kwargs)

        checked._parameter_constraints = MappingProxyType(rules)  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
