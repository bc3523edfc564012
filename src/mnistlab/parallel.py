"""The one parallel path of sweeps, cross-validation and detector studies: joblib, with loky processes on this
machine or a Dask cluster's workers (``cluster="tcp://HOST:8786"``, needs ``mnistlab[cluster]``); and the one
rule for Ctrl-C and SIGTERM in any loop of fits (:func:`loop_of_fits`), which every parallel block follows.

Examples
--------
>>> with parallel(jobs=2) as n_jobs:  # doctest: +SKIP
...     cross_validate(estimator, X, y, n_jobs=n_jobs)
"""

from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
from collections.abc import Iterator

from mnistlab.errors import MnistlabError, ParameterError

_IN_LOOP_OF_FITS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mnistlab_loop_of_fits", default=False
)


@contextlib.contextmanager
def loop_of_fits() -> Iterator[None]:
    """Inside the block, Ctrl-C or SIGTERM stops the whole loop of fits, not only the fit that is running.

    On its own, a network's training turns an interrupt into "stop here, keep the best weights so far": right for
    one ``train``. In a loop (cross-validation folds, a sweep's trials, the label-error judge, detector studies,
    the benchmark suite) that stopped one fit and started the next, so only ``kill -9`` could stop the command.
    Inside this block the training raises KeyboardInterrupt instead, and SIGTERM raises it anywhere in the block
    (in the main thread): what finished is kept by the caller (a sweep's finished trials), nothing half-done is
    reported. Blocks nest; wrap your own loop of fits (``GridSearchCV``, one-vs-rest) in one as well.

    Examples
    --------
    >>> with loop_of_fits():
    ...     in_loop_of_fits()
    True
    >>> in_loop_of_fits()
    False
    """
    token = _IN_LOOP_OF_FITS.set(True)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        _IN_LOOP_OF_FITS.reset(token)


def in_loop_of_fits() -> bool:
    """True inside :func:`loop_of_fits`: an interrupted training must stop the loop, not only itself."""
    return _IN_LOOP_OF_FITS.get()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def parallel(jobs: int = 1, cluster: str | None = None, timeout: float = 10.0) -> Iterator[int | None]:
    """Inside the block, joblib runs ``jobs`` tasks at once on this machine, or on every worker of the Dask
    cluster at ``cluster``; yields the ``n_jobs`` to give scikit-learn or joblib (None: one at a time here). The
    block is a :func:`loop_of_fits`: Ctrl-C or SIGTERM stops all of it."""
    check_jobs(jobs)
    if cluster is None:
        with loop_of_fits():
            yield None if jobs == 1 else jobs
        return
    from joblib import parallel_config

    client = dask_client(cluster, timeout)
    try:
        with parallel_config(backend="dask"), loop_of_fits():
            yield -1
    finally:
        client.close()


def check_jobs(jobs) -> None:
    """``jobs`` is a whole number of tasks at once, at least 1 (``True`` is not 1 here: a flag given where a count
    was meant).

    Examples
    --------
    >>> check_jobs(2)
    >>> check_jobs(True)
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: jobs=True; expected an integer >= 1
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError("jobs", jobs, "an integer >= 1")


def dask_client(address: str, timeout: float = 10.0):
    """A client of the Dask scheduler at ``address``; a clear error when none answers within ``timeout``."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise MnistlabError("`cluster` needs Dask: pip install 'mnistlab[cluster]'") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise MnistlabError(f"no Dask scheduler answered at {address} within {timeout:g} s ({exc})") from None
