"""Running many independent solves at once on the local cores.

:func:`parallel_map` is the one entry point used by sweeps and batches: it
keeps the order of its inputs, runs in the calling process when one worker
is asked for (or the work is small), and otherwise uses a process pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

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
    **options: Any,
) -> Iterator[R]:
    """Apply ``fn`` to every item, in parallel, yielding results in order.

    Parameters
    ----------
    fn : callable
        A picklable (module-level) function.
    items : iterable
    workers : int, optional
        Processes to use; all local cores by default, 1 for no pool.

    Examples
    --------
    >>> list(parallel_map(abs, [-1, 2, -3], workers=1))
    [1, 2, 3]
    """
    items = list(items)
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        yield from pool.map(fn, items)
