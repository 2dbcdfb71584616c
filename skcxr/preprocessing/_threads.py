"""How many decoding threads ``n_jobs`` means in this process.

Left to joblib, ``Parallel(n_jobs=-1, prefer="threads")`` takes every CPU of
the host even inside one of joblib's own loky workers (joblib limits only the
native thread pools there, to ``cpu_count // n_jobs``), and inside a Dask task
it sends each image back to the cluster as a task of its own. ImageLoader
decodes in a thread pool of its own process instead, sized to the CPU share
that this process was given: the share its native thread pools (OpenMP, BLAS)
were given by whoever started it (joblib's loky workers, Dask's nanny,
``threadpoolctl.threadpool_limits``, ``OMP_NUM_THREADS``), within the CPUs it
may run on, divided among a Dask worker's task slots.
"""

import functools
import sys

import joblib
from threadpoolctl import ThreadpoolController


def resolve_n_jobs(n_jobs):
    """The number of decoding threads for ``n_jobs``.

    ``None`` is 1, a positive int is used as given, a negative one counts
    back from :func:`cpu_budget` as in joblib (``-1``: all of it, ``-2``:
    all but one). ``ImageLoader`` has refused any other value (0, a float, a
    bool) before asking.
    """
    if n_jobs is None:
        return 1
    if n_jobs > 0:
        return int(n_jobs)
    return max(1, cpu_budget() + 1 + int(n_jobs))


def cpu_budget():
    """CPUs this process (or this Dask task slot) may keep busy.

    The smallest of: the CPUs the process may run on (affinity mask and
    cgroup quota, as joblib counts them), the largest thread limit of its
    native thread pools, and, inside a Dask worker, its CPUs divided among
    the worker's ``nthreads`` task slots.
    """
    budget = joblib.cpu_count()
    pool_limit = _native_pool_limit()
    if pool_limit is not None:
        budget = min(budget, pool_limit)
    slots = _dask_worker_slots()
    if slots is not None:
        budget = budget // slots
    return max(1, budget)


@functools.cache
def _controller():
    # Finding the loaded libraries takes milliseconds; their thread limits
    # are read live on each call. skcxr imports torch (and numpy) before any
    # ImageLoader runs, so the pools that matter are already loaded.
    return ThreadpoolController()


def _native_pool_limit():
    limits = [lib.num_threads for lib in _controller().lib_controllers]
    limits = [n for n in limits if isinstance(n, int) and n > 0]
    return max(limits) if limits else None


def _dask_worker_slots():
    """``nthreads`` of the Dask worker running this code, or None outside one."""
    if "distributed" not in sys.modules:  # never import Dask just to ask
        return None
    from distributed import get_worker

    try:
        return get_worker().state.nthreads
    except ValueError:  # not in a worker task
        return None
