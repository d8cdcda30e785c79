"""Self-checking MPI programs covering every implemented call, at world sizes 1 to 8."""

from __future__ import annotations

import os

import pytest

from tests.mpi_shim.conftest import run_world


@pytest.mark.parametrize("ranks", range(1, 9))
@pytest.mark.parametrize("program", ["p2p", "collectives", "comms", "extras", "nonblocking"])
async def test_self_checking_program_passes_every_check(cluster, mpi_wasm, program, ranks):
    result = await run_world(cluster, mpi_wasm(program), ranks)
    assert result.error is None, result.error
    assert len(result.ranks) == ranks
    assert [r.return_value for r in result.ranks] == [0] * ranks, result.stdout.decode()
    assert f"{program}: ".encode() in result.stdout
    assert b" 0 failures" in result.stdout, result.stdout.decode()
    for rank in result.ranks:
        assert b"FAIL" not in rank.stdout, rank.stdout.decode()


@pytest.mark.parametrize("ranks", [2, 3])
async def test_ranks_that_run_openmp_threads_still_exchange_messages(cluster, mpi_wasm, ranks):
    result = await run_world(cluster, mpi_wasm("hybrid"), ranks)
    assert result.error is None, result.error
    assert [r.return_value for r in result.ranks] == [0] * ranks, result.stdout.decode()
    assert b"hybrid: " in result.stdout and b" 0 failures" in result.stdout, result.stdout.decode()


@pytest.mark.parametrize("ranks", [2, 3, 4, 8])
async def test_small_messages_on_one_host_go_through_shared_memory_in_mpi_order(cluster, mpi_wasm, ranks):
    # With more ranks than cores, receivers do not poll the rings: the host takes their messages out.
    polling = ranks <= len(os.sched_getaffinity(0))
    result = await run_world(cluster, mpi_wasm("rings"), ranks, "expect-rings" if polling else "expect-sent")
    assert result.error is None, result.error
    assert [r.return_value for r in result.ranks] == [0] * ranks, result.stdout.decode()
    assert b"rings: " in result.stdout and b" 0 failures" in result.stdout, result.stdout.decode()
