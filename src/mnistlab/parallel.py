"""The one parallel path of sweeps, cross-validation and detector studies: joblib, with loky processes on this
machine or a Dask cluster's workers (``cluster="tcp://HOST:8786"``, needs ``mnistlab[cluster]``).

Examples
--------
>>> with parallel(jobs=2) as n_jobs:  # doctest: +SKIP
...     cross_validate(estimator, X, y, n_jobs=n_jobs)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mnistlab.errors import MnistlabError, ParameterError


@contextlib.contextmanager
def parallel(jobs: int = 1, cluster: str | None = None, timeout: float = 10.0) -> Iterator[int | None]:
    """Inside the block, joblib runs ``jobs`` tasks at once on this machine, or on every worker of the Dask
    cluster at ``cluster``; yields the ``n_jobs`` to give scikit-learn or joblib (None: one at a time here)."""
    check_jobs(jobs)
    if cluster is None:
        yield None if jobs == 1 else jobs
        return
    from joblib import parallel_config

    client = dask_client(cluster, timeout)
    try:
        with parallel_config(backend="dask"):
            yield -1
    finally:
        client.close()


def check_jobs(jobs) -> None:
    """``jobs`` is a whole number of tasks at once, at least 1."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs={jobs}; expected an integer >= 1")


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
