"""Running many independent solves at once, on local cores or a Dask cluster.

    parallel_map(fn, items) = [fn(item) for item in items], in order.

:func:`parallel_map` is the one entry point used by sweeps and batches: it
keeps the order of its inputs, runs in the calling process when one worker
is asked for (or the work is small), uses a local process pool otherwise,
and sends the work to a Dask distributed cluster when given the address of
its scheduler (``scheduler="tcp://host:8786"``). Dask is imported only then.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from calmech.errors import InputError

__all__ = ["default_workers", "parallel_map"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Number of local cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int | None = None,
    scheduler: str | None = None,
    **options: Any,
) -> Iterator[R]:
    """Apply ``fn`` to every item, in parallel, yielding results in order.

    Parameters
    ----------
    fn : callable
        A picklable (module-level) function.
    items : iterable
    workers : int, optional
        Local processes to use; all local cores by default, 1 for no pool.
        Ignored when ``scheduler`` is given.
    scheduler : str, optional
        Address of a Dask distributed scheduler, e.g.
        ``"tcp://10.0.0.5:8786"``; the work then runs on its workers.
    **options
        With ``scheduler``: ``timeout`` (seconds to connect, default 10).

    Raises
    ------
    InputError
        If ``scheduler`` is given and Dask is not installed or the
        scheduler cannot be reached.

    Examples
    --------
    >>> list(parallel_map(abs, [-1, 2, -3], workers=1))
    [1, 2, 3]
    """
    items = list(items)
    if scheduler is not None:
        yield from _dask_map(fn, items, scheduler, float(options.get("timeout", 10)))
        return
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        yield from pool.map(fn, items)


def _dask_map(
    fn: Callable[[T], R], items: list[T], scheduler: str, timeout: float
) -> Iterator[R]:
    """Run ``fn`` over ``items`` on the Dask cluster at ``scheduler``."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise InputError(
            "scheduler",
            'needs Dask: pip install "dask[distributed]"',
            scheduler,
        ) from exc
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            "scheduler", f"cannot reach a Dask scheduler ({exc})", scheduler
        ) from exc
    try:
        # pure=False: equal items still run (fn may use randomness).
        futures = client.map(fn, items, pure=False)
        for future in futures:
            yield future.result()
    finally:
        client.close()
