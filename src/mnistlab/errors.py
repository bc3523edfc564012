"""Every exception a user can act on. The command line prints these as one line (a traceback with ``--debug``);
anything else is a bug and keeps its traceback.

All derive from :class:`MnistlabError`; those about bad values also derive from ``ValueError`` so that code
written against scikit-learn's conventions (``except ValueError``) keeps working.
"""

import difflib
from collections.abc import Iterable


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


class ParameterError(MnistlabError, ValueError):
    """A model or workflow parameter has a value (or a name) that is not accepted."""


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
