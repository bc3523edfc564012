"""Every exception a user can act on. The command line prints these as one line (a traceback with ``--debug``);
anything else is a bug and keeps its traceback.

All derive from :class:`MnistlabError`; those about bad values also derive from ``ValueError`` so that code
written against scikit-learn's conventions (``except ValueError``) keeps working. Old names that still work
warn once per process (:func:`warn_deprecated`, a :class:`MnistlabDeprecationWarning`).
"""

import difflib
import warnings
from collections.abc import Iterable
from typing import Any


class MnistlabError(Exception):
    """Base class of every error caused by input, files or the environment rather than by a bug."""


class DataFormatError(MnistlabError, ValueError):
    """A file or array does not have the layout, size or values that were expected."""


class DataNotAvailableError(MnistlabError):
    """A data set is not cached and cannot be fetched (offline mode, every mirror failed, unknown name)."""


class ChecksumError(MnistlabError):
    """Downloaded or cached bytes do not match the checksum recorded for them."""


class MirrorError(MnistlabError):
    """One mirror could not supply a data set's files; the next mirror is tried, and only when every one failed
    does the user see a :class:`DataNotAvailableError` listing each failure."""


_NOT_GIVEN: Any = object()


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to about ``limit`` characters: a message names a huge value (a tampered file's
    nested list, a 10,000-character string) without repeating all of it.

    Examples
    --------
    >>> shown("cnn")
    "'cnn'"
    >>> shown(list(range(1000)))
    '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1... (4890 characters)'
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


class ParameterError(MnistlabError, ValueError):
    """A model or workflow parameter has a value (or a name) that is not accepted.

    ``ParameterError(parameter, value, expected)`` carries the parameter's name as a Python caller writes it, the
    value given and what is accepted (``.parameter``, ``.value``, ``.expected``) and composes its message from them:
    ``parameter=value; expected ...``, after ``owner`` (the model or workflow the parameter belongs to, or the file
    entry it was read from) and before ``hint``. ``from_file``: the value was read from a file (a sweep file), so
    no command-line flag sets it. The command line names its own flag from ``.parameter`` (``--jobs 0``).

    A single message (``ParameterError("...")``) is still accepted where no one parameter is at fault; then
    ``.parameter``, ``.value`` and ``.expected`` are None.

    Examples
    --------
    >>> error = ParameterError("jobs", 0, "an integer >= 1")
    >>> str(error), error.parameter, error.value, error.expected
    ('jobs=0; expected an integer >= 1', 'jobs', 0, 'an integer >= 1')
    >>> str(ParameterError("preprocess", "big", "one of 'none', 'mnist'", owner="train", hint="see data info"))
    "train: preprocess='big'; expected one of 'none', 'mnist'; see data info"
    """

    def __init__(
        self,
        parameter: str,
        value: Any = _NOT_GIVEN,
        expected: str | None = None,
        *,
        owner: str | None = None,
        hint: str | None = None,
        from_file: bool = False,
    ) -> None:
        if value is _NOT_GIVEN:  # a whole message, where no single parameter is at fault
            self.parameter = self.value = self.expected = self.owner = self.hint = None
            self.from_file = from_file
            super().__init__(parameter)
            return
        self.parameter, self.value, self.expected = parameter, value, expected
        self.owner, self.hint, self.from_file = owner, hint, from_file
        super().__init__(self.message(f"{parameter}={shown(value)}"))

    def message(self, given: str) -> str:
        """The message with the parameter and its value written as ``given`` (``jobs=0``, or ``--jobs 0``)."""
        text = given if self.expected is None else f"{given}; expected {self.expected}"
        text = text if self.owner is None else f"{self.owner}: {text}"
        return text if self.hint is None else f"{text}; {self.hint}"

    def within(self, context: str) -> "ParameterError":
        """The same error said within ``context`` (a model's name, a sweep file's entry), its fields kept.

        >>> str(ParameterError("lr", 0, "a number > 0", owner="cnn").within("sweep.toml: models[0]"))
        'sweep.toml: models[0]: cnn: lr=0; expected a number > 0'
        """
        if self.parameter is None:
            return type(self)(f"{context}: {self}", from_file=self.from_file)
        owner = context if self.owner is None else f"{context}: {self.owner}"
        return type(self)(
            self.parameter, self.value, self.expected, owner=owner, hint=self.hint, from_file=self.from_file
        )

    def __reduce__(self):  # joblib and Dask send errors between processes: keep the fields
        if self.parameter is None:
            return (type(self), (str(self),), {"from_file": self.from_file})
        fields = {"owner": self.owner, "hint": self.hint, "from_file": self.from_file}
        return (_rebuild_parameter_error, (type(self), self.parameter, self.value, self.expected, fields))


def _rebuild_parameter_error(cls, parameter, value, expected, fields):
    return cls(parameter, value, expected, **fields)


class UnknownModelError(MnistlabError, KeyError):
    """No model of that name in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class RunError(MnistlabError):
    """A run folder is missing, incomplete, tampered with or not written by mnistlab."""


class RunNotSavedError(RunError):
    """A trained model could not be saved where it was asked to go (a full disk, a quota, a file-size limit, a
    read-only folder). ``saved_in``: the complete run folder it was saved in instead (None: nowhere);
    ``estimator``: the trained model itself, and ``save_args``: the rest of what ``runs.save`` needs, so Python
    code can save it elsewhere (``runs.save(path, error.estimator, **error.save_args)``)."""

    def __init__(self, message: str, estimator=None, saved_in=None, save_args: dict | None = None) -> None:
        super().__init__(message)
        self.estimator, self.saved_in, self.save_args = estimator, saved_in, dict(save_args or {})


class WriteError(MnistlabError, OSError):
    """A file could not be written for a reason outside mnistlab: a full disk, a quota, a file-size limit, a
    read-only or forbidden folder. Nothing half-written is left, and the file keeps what it held. An ``OSError``
    (``errno``, ``strerror`` and ``filename`` as usual: the file asked for) whose text says all that."""

    def __str__(self) -> str:
        return f"{self.filename}: cannot be written ({self.strerror}); nothing half-written is left"


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown model 'cnnn'; known: a, b. Did you mean 'cnn'?`` for any registry.

    Examples
    --------
    >>> unknown_name_message("model", "cnnn", ["cnn", "mlp"])
    "unknown model 'cnnn'; known: cnn, mlp. Did you mean 'cnn'?"
    """
    known = list(known)
    close = difflib.get_close_matches(name, known, n=2)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} {name!r}; known: {', '.join(known)}.{hint}"


class MnistlabDeprecationWarning(DeprecationWarning):
    """An old name of mnistlab's was used: it still works and will be removed. A ``DeprecationWarning`` of its
    own class, so the command line can show these (Python hides deprecation warnings raised inside a library)
    without showing those of other libraries."""


_WARNED: set[str] = set()  # the old names already warned about in this process


def warn_deprecated(old: str, instead: str, *, stacklevel: int = 2) -> None:
    """Warn, once per process, that ``old`` is deprecated and what to use ``instead``.

    Parameters
    ----------
    old : str
        The old name as the user wrote it, quoted as it should appear (``mnistlab.sweep``, ``model 'cnn-seed'``).
    instead : str
        What to do now, as the rest of the sentence.
    stacklevel : int
        As for :func:`warnings.warn`, counted from the caller of this function.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_deprecated("the example name 'a'", "use 'b'")
    ...     warn_deprecated("the example name 'a'", "use 'b'")  # once per process
    >>> [str(w.message) for w in caught]
    ["the example name 'a' is deprecated: use 'b'"]
    """
    if old in _WARNED:
        return
    _WARNED.add(old)
    warnings.warn(f"{old} is deprecated: {instead}", MnistlabDeprecationWarning, stacklevel=stacklevel + 1)
