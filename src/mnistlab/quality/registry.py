"""The checks by name: ``health --checks label,outlier,duplicates`` picks from :data:`CHECKS`, and
:func:`make_checks` builds them with the settings each one takes. Adding a check is one class and one line here:
the command line, ``health.json``, ``per_image.csv`` and the page follow from the results.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from mnistlab.errors import ParameterError
from mnistlab.params import satisfies, validates
from mnistlab.quality.base import DataCheck
from mnistlab.quality.duplicates import ExactDuplicates, NearDuplicates
from mnistlab.quality.groups import UnderperformingGroups
from mnistlab.quality.images import ClassImbalance, ImageProperties, OddImages, OriginalFiles
from mnistlab.quality.label_errors import LabelErrors
from mnistlab.quality.ordering import NonIidOrder
from mnistlab.quality.outliers import Outliers

# In the order they run and are shown; label and groups last (they train models, and share them).
CHECKS: dict[str, type[DataCheck]] = {
    "duplicates": ExactDuplicates,
    "near": NearDuplicates,
    "odd": OddImages,
    "properties": ImageProperties,
    "files": OriginalFiles,
    "imbalance": ClassImbalance,
    "outlier": Outliers,
    "order": NonIidOrder,
    "label": LabelErrors,
    "groups": UnderperformingGroups,
}

SKIP_EXPECTED = f"some of {', '.join(CHECKS)} (separated by commas)"
CHECKS_EXPECTED = f"all, or {SKIP_EXPECTED}"


def _known_names(parameter: str, expected: str):
    """The check of ``checks`` or ``skip``: text or a list of texts, each a name of :data:`CHECKS` (``checks``
    may also be all)."""

    def check(value) -> None:
        texts = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(text, str) for text in texts):
            raise ParameterError(parameter, value, expected)
        for name in _split(value):
            if name not in CHECKS and not (parameter == "checks" and name == "all"):
                raise ParameterError(parameter, value, expected, hint=f"unknown check {name!r}")

    return check


@validates(
    None,
    checks=satisfies(
        _known_names("checks", CHECKS_EXPECTED),
        CHECKS_EXPECTED,
        breaking=("labels", ["near", "x"], 3),
        example="all",
    ),
    skip=satisfies(
        _known_names("skip", SKIP_EXPECTED), SKIP_EXPECTED, breaking=("all", ["near", "x"], 3), example="near"
    ),
)
def check_names(checks: str | Sequence[str] = "all", skip: str | Sequence[str] = ()) -> list[str]:
    """The registry's names of ``checks`` ("all", or names separated by commas) less those in ``skip``, in
    :data:`CHECKS`'s order; an unknown name is refused with the known ones.

    Examples
    --------
    >>> check_names("label, outlier,duplicates")
    ['duplicates', 'outlier', 'label']
    >>> check_names("all", skip="label,groups,near,outlier,order")
    ['duplicates', 'odd', 'properties', 'files', 'imbalance']
    >>> check_names("labels")
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: checks='labels'; expected all, or some of duplicates, near, odd, properties, files, imbalance, outlier, order, label, groups (separated by commas); unknown check 'labels'
    """
    chosen, skipped = _split(checks), _split(skip)
    if chosen == ["all"]:
        chosen = list(CHECKS)
    names = [name for name in CHECKS if name in chosen and name not in skipped]
    if not names:
        raise ParameterError(f"no check left to run (checks {checks!r}, skip {skip!r})")
    return names


def make_checks(names: Sequence[str], **settings) -> list[DataCheck]:
    """One check per name (:func:`check_names`), each built with those of ``settings`` its class takes (``seed``
    goes to every check that has one, ``model`` to the two that train a judge, ``features`` to the outliers).

    Examples
    --------
    >>> [type(c).__name__ for c in make_checks(["near", "label"], seed=3, model="mlp", near_ratio=0.1)]
    ['NearDuplicates', 'LabelErrors']
    >>> make_checks(["label"], model="mlp")[0].model
    'mlp'
    """
    built = []
    for name in names:
        cls = CHECKS[name]
        takes = inspect.signature(cls).parameters
        built.append(cls(**{key: value for key, value in settings.items() if key in takes}))
    return built


def _split(text: str | Sequence[str]) -> list[str]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    return [part.strip().lower() for part in parts if part.strip()]
