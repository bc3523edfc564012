"""Names a package exports but imports only when first used (PEP 562), so that importing the package stays light:
``mnistlab models`` lists the registry without importing PyTorch, ``mnistlab runs`` reads run folders without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, where: dict[str, str], exported: list[str]) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name of ``where`` comes from its module on first
    use (``"module:attribute"`` when the package shows it under another name); ``exported`` is the package's
    ``__all__``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math", "root": "math:sqrt"}, ["root", "sqrt"])
    >>> getattr_("sqrt")(9.0), getattr_("root")(16.0), dir_()
    (3.0, 4.0, ['root', 'sqrt'])
    """

    def __getattr__(name: str):
        if name in where:
            module, _, attribute = where[name].partition(":")
            return getattr(importlib.import_module(module), attribute or name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exported)

    return __getattr__, __dir__
