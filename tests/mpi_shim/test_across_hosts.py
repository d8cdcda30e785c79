"""MPI worlds spanning hosts: the embedded runtime's hosts, linked by in-process peer channels.

The same self-checking programs as on one host, with the ranks spread over
hosts of few slots, so every point-to-point pattern and every collective
crosses between hosts. (Worlds across real worker processes over ZeroMQ are
in ``tests/integration/test_cluster_mpi.py``.)
"""

from __future__ import annotations

import dataclasses

import pytest

from faabric.exceptions import GuestTrap, MpiAbortError, MpiWorldFailedError
from tests.mpi_shim.conftest import run_world


@pytest.fixture
async def spread_cluster(config):
    """Three hosts of two slots each."""
    from faabric.cluster import LocalCluster

    async with LocalCluster(hosts=3, config=dataclasses.replace(config, slots=2)) as cluster:
        yield cluster


def assert_passed(result, ranks: int) -> None:
    assert result.error is None, result.error
    assert [r.return_value for r in result.ranks] == [0] * ranks, result.stdout.decode()
    assert b" 0 failures" in result.stdout, result.stdout.decode()


@pytest.mark.parametrize("ranks", [3, 4, 6])
@pytest.mark.parametrize("program", ["p2p", "collectives", "comms", "extras", "nonblocking", "rings"])
async def test_self_checking_program_passes_with_ranks_on_several_hosts(spread_cluster, mpi_wasm, program, ranks):
    result = await run_world(spread_cluster, mpi_wasm(program), ranks)
    assert_passed(result, ranks)
    assert len({rank.host for rank in result.ranks}) == -(-ranks // 2)


async def test_sendrecv_from_another_host_waits_on_the_ranks_own_inbox(config, mpi_wasm, monkeypatch):
    from faabric.cluster import LocalCluster
    from faabric.mpi.world import World

    direct = []
    receive_direct = World.receive_direct

    def counted(self, *args):
        got = receive_direct(self, *args)
        direct.append(got is not None)
        return got

    monkeypatch.setattr(World, "receive_direct", counted)
    # One rank per host (no shared rings): every halo exchange is an MPI_Sendrecv in the host.
    async with LocalCluster(hosts=2, config=dataclasses.replace(config, slots=1)) as cluster:
        result = await run_world(cluster, mpi_wasm("stencil"), 2, "64", "10")
    assert result.error is None, result.error
    assert len({rank.host for rank in result.ranks}) == 2
    assert b"checksum" in result.stdout
    assert sum(direct) >= 10  # the lean path of World.receive_direct took them, not posted receives


async def test_the_world_is_forgotten_on_every_host_once_its_ranks_finish(spread_cluster, mpi_wasm):
    import asyncio

    await run_world(spread_cluster, mpi_wasm("ring"), 6)
    for _ in range(200):
        if all(len(host.mpi_worlds) == 0 for host in spread_cluster.hosts):
            break
        await asyncio.sleep(0.01)
    assert [len(host.mpi_worlds) for host in spread_cluster.hosts] == [0, 0, 0]


async def test_a_trap_on_another_host_fails_every_rank_naming_the_trapped_one(spread_cluster, mpi_wasm):
    result = await run_world(spread_cluster, mpi_wasm("bad_input"), 6, "trap")
    assert isinstance(result.error, GuestTrap)
    assert result.error.mpi_rank == 5
    assert result.ranks[5].host != result.ranks[0].host
    for rank in range(5):
        assert isinstance(result.ranks[rank].error, MpiWorldFailedError), result.ranks[rank].error
        assert result.ranks[rank].error.failed_rank == 5


async def test_mpi_abort_ends_ranks_on_every_host(spread_cluster, mpi_wasm):
    result = await run_world(spread_cluster, mpi_wasm("bad_input"), 6, "abort")
    assert isinstance(result.error, MpiAbortError)
    assert (result.error.rank, result.error.error_code) == (1, 7)
    for rank in (0, 2, 3, 4, 5):
        assert isinstance(result.ranks[rank].error, MpiWorldFailedError), result.ranks[rank].error
        assert result.ranks[rank].error.failed_rank == 1
