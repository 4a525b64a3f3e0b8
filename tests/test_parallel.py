"""parallel_map: order, local pool, and a loopback Dask cluster."""

import pytest

from calmech.errors import InputError
from calmech.parallel import parallel_map


def square(x: int) -> int:
    return x * x


def test_local_pool_keeps_order():
    assert list(parallel_map(square, range(6), workers=2)) == [0, 1, 4, 9, 16, 25]


def test_single_worker_runs_in_process():
    assert list(parallel_map(square, [3], workers=4)) == [9]


def test_dask_cluster_on_loopback():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        got = list(parallel_map(square, range(5), scheduler=cluster.scheduler_address))
    assert got == [0, 1, 4, 9, 16]


def test_unreachable_scheduler_is_an_input_error():
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="scheduler: cannot reach"):
        list(parallel_map(square, [1], scheduler="tcp://127.0.0.1:9", timeout=1))
