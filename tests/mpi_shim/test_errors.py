"""Bad MPI programs end their whole world promptly with a typed error naming the rank."""

from __future__ import annotations

import dataclasses

import pytest

from faabric.exceptions import (
    GuestMemoryError,
    GuestTrap,
    MpiAbortError,
    MpiDeadlockError,
    MpiError,
    MpiWorldFailedError,
)
from tests.mpi_shim.conftest import run_world

RANKS = 3


@pytest.mark.parametrize(
    "mode, function, error_name, detail",
    [
        ("bad_comm", "MPI_Send", "MPI_ERR_COMM", "invalid communicator"),
        ("bad_rank", "MPI_Send", "MPI_ERR_RANK", "rank 3 is not in a communicator of size 3"),
        ("bad_tag", "MPI_Send", "MPI_ERR_TAG", "invalid tag -5"),
        ("bad_datatype", "MPI_Send", "MPI_ERR_TYPE", "invalid datatype"),
        ("bad_count", "MPI_Send", "MPI_ERR_COUNT", "negative count -1"),
        ("uncommitted", "MPI_Send", "MPI_ERR_TYPE", "is not committed"),
        ("truncate", "MPI_Recv", "MPI_ERR_TRUNCATE", "message of 16 bytes from rank 0 (tag 0) does not fit"),
        ("mismatched_root", "MPI_Bcast", "MPI_ERR_OTHER", "mismatched collective"),
        ("mismatched_collective", "MPI_Allreduce MPI_Barrier", "MPI_ERR_OTHER", "mismatched collective: rank"),
        ("mismatched_count", "MPI_Bcast", "MPI_ERR_TRUNCATE", "rank 0 sent 16 bytes but this rank expects 8"),
        ("bad_op", "MPI_Allreduce", "MPI_ERR_OP", "MPI_BXOR does not apply to datatype MPI_FLOAT"),
    ],
)
async def test_invalid_arguments_raise_mpi_error_naming_function_and_rank(
    cluster, mpi_wasm, mode, function, error_name, detail
):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, mode)
    error = result.error
    assert type(error) is MpiError, error
    assert error.function in function.split()  # whichever rank noticed first
    assert error.error_name == error_name
    assert detail in error.detail
    assert 0 <= error.rank < RANKS
    assert f"{error.function} on rank {error.rank} of world {error.world_id}" in str(error)
    assert type(result.ranks[error.rank].error) is MpiError


@pytest.mark.parametrize(
    "mode, detail",
    [
        ("mismatched_collective", ("mismatched collective", "MPI_Barrier", "MPI_Allreduce(MPI_SUM, MPI_INT)")),
        ("mismatched_allreduce_count", ("mismatched collective", "with 16 bytes", "with 8")),
        ("mismatched_op", ("mismatched collective", "MPI_Allreduce(MPI_SUM, MPI_INT)", "MPI_Allreduce(MPI_MAX, MPI_INT)")),
    ],
)
async def test_mismatched_barrier_and_allreduce_between_two_ranks_are_named(cluster, mpi_wasm, mode, detail):
    # Two ranks on one host (no more than this machine's cores): the guest runs these collectives itself.
    result = await run_world(cluster, mpi_wasm("bad_input"), 2, mode)
    error = result.error
    assert type(error) is MpiError, error
    assert error.function in ("MPI_Barrier", "MPI_Allreduce")
    assert error.error_name == "MPI_ERR_OTHER"
    assert all(part in error.detail for part in detail), error.detail
    assert all(rank.error is not None for rank in result.ranks)


async def test_a_failing_rank_stops_the_others_with_world_failed_errors(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "truncate")
    assert result.error.rank == 1
    others = [r.error for i, r in enumerate(result.ranks) if i != 1 and r.error is not None]
    for error in others:
        assert isinstance(error, MpiWorldFailedError)
        assert error.failed_rank == 1


async def test_deadlock_is_detected_and_names_what_every_rank_waits_for(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "deadlock")
    error = result.error
    assert isinstance(error, MpiDeadlockError)
    assert isinstance(error, TimeoutError)
    for rank in range(RANKS):
        assert f"rank {rank} waits in MPI_Recv(source={(rank + 1) % RANKS}, tag=0)" in error.detail
    assert all(isinstance(r.error, MpiDeadlockError) for r in result.ranks)


async def test_waiting_for_a_rank_that_finished_is_a_deadlock(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "peer_finished")
    assert isinstance(result.error, MpiDeadlockError)
    assert "rank 1 has finished" in result.error.detail
    assert result.error.rank == 0


async def test_a_wait_longer_than_the_mpi_timeout_fails(config, mpi_wasm):
    from faabric.cluster import LocalCluster

    async with LocalCluster(config=dataclasses.replace(config, mpi_timeout=0.3)) as cluster:
        result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "slow_peer")
    assert isinstance(result.error, MpiDeadlockError)
    assert "MPI timeout of 0.3s" in result.error.detail
    assert result.error.rank == 0


async def test_mpi_abort_ends_the_world_with_the_code_and_rank(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "abort")
    assert isinstance(result.error, MpiAbortError)
    assert (result.error.rank, result.error.error_code) == (1, 7)
    assert isinstance(result.ranks[0].error, MpiWorldFailedError)
    assert result.ranks[0].error.failed_rank == 1


async def test_a_trap_in_one_rank_fails_the_world_naming_that_rank(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "trap")
    assert isinstance(result.error, GuestTrap)
    assert str(result.error).startswith(f"rank {RANKS - 1} of MPI world")
    assert result.error.mpi_rank == RANKS - 1
    for rank in range(RANKS - 1):
        assert isinstance(result.ranks[rank].error, MpiWorldFailedError)
        assert result.ranks[rank].error.failed_rank == RANKS - 1


async def test_the_invoke_raises_the_failing_ranks_error(cluster, mpi_wasm):
    wasm = mpi_wasm("bad_input")
    await cluster.upload("mpi", "bad_input", wasm)
    with pytest.raises(MpiAbortError, match="MPI_Abort on rank 1"):
        await cluster.invoke("mpi", "bad_input", cmdline="abort", mpi_world_size=RANKS)


async def test_a_buffer_outside_linear_memory_traps_with_guest_memory_error(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "bad_buffer")
    assert isinstance(result.error, GuestMemoryError)
    assert "send buffer" in str(result.error)


async def test_an_unimplemented_mpi_function_traps_naming_itself(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("bad_input"), RANKS, "unimplemented")
    assert isinstance(result.error, GuestTrap)
    assert "MPI_Win_fence" in str(result.error)


async def test_the_world_is_forgotten_once_every_rank_has_finished(cluster, mpi_wasm):
    import asyncio

    await run_world(cluster, mpi_wasm("bad_input"), RANKS, "abort")
    await run_world(cluster, mpi_wasm("ring"), 4)
    registry = cluster.hosts[0].mpi_worlds
    for _ in range(100):
        if len(registry) == 0:
            break
        await asyncio.sleep(0.01)
    assert len(registry) == 0


async def test_ranks_stay_on_rank_zeros_host_while_it_has_room(config, mpi_wasm):
    from faabric.cluster import LocalCluster

    async with LocalCluster(hosts=2, config=dataclasses.replace(config, slots=2)) as cluster:
        result = await run_world(cluster, mpi_wasm("ring"), 2)
    assert result.error is None
    assert len({rank.host for rank in result.ranks}) == 1


async def test_a_world_larger_than_the_cluster_fails_clearly_instead_of_hanging(config, mpi_wasm):
    from faabric.cluster import LocalCluster

    async with LocalCluster(hosts=2, config=dataclasses.replace(config, slots=2)) as cluster:
        result = await run_world(cluster, mpi_wasm("ring"), 5)
    assert isinstance(result.error, MpiError)
    assert "a world of 5 ranks needs 5 slots; the cluster has 4" in result.error.detail
    assert result.error.function == "MPI_Init"


@pytest.mark.parametrize("ranks", [1, 2, 4])
async def test_errors_return_as_codes_under_mpi_errors_return_and_the_world_carries_on(cluster, mpi_wasm, ranks):
    result = await run_world(cluster, mpi_wasm("errhandlers"), ranks)
    assert result.error is None, result.error
    assert b"errhandlers: " in result.stdout and b" 0 failures" in result.stdout, result.stdout.decode()


async def test_errors_on_a_communicator_set_back_to_fatal_still_end_the_world(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("errhandlers"), RANKS, "fatal")
    assert isinstance(result.error, MpiError)
    assert result.error.error_name == "MPI_ERR_RANK" and result.error.function == "MPI_Send"
