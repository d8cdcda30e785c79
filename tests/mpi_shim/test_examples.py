"""The MPI examples in examples/mpi give the answers native MPICH gives."""

from __future__ import annotations

import math
import re

from tests.mpi_shim.conftest import run_world


async def test_hello_prints_once_per_rank_with_the_broadcast_value(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("hello"), 4)
    assert result.error is None
    for rank, rank_result in enumerate(result.ranks):
        assert rank_result.stdout == f"Hello from rank {rank} of 4, got 123\n".encode()
        assert rank_result.return_value == 0


async def test_ring_passes_the_token_around_every_lap(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("ring"), 5, "3")
    assert result.stdout == b"token after 3 laps of 5 ranks: 30\n"
    assert [r.return_value for r in result.ranks] == [0] * 5


async def test_pi_matches_native_mpich(cluster, mpi_wasm, native_mpi):
    result = await run_world(cluster, mpi_wasm("pi"), 4, "200000")
    value = float(re.search(rb"approximately (\S+),", result.stdout).group(1))
    assert abs(value - math.pi) < 1e-9
    assert result.stdout.decode() == native_mpi("pi", 4, "200000")


async def test_stencil_checksum_is_the_same_for_any_rank_grid_and_native(cluster, mpi_wasm, native_mpi):
    checksums = set()
    for ranks in (1, 4, 6):
        result = await run_world(cluster, mpi_wasm("stencil"), ranks, "48", "30")
        assert result.error is None
        checksums.add(result.stdout.decode().split("checksum ")[1])
    assert len(checksums) == 1
    native = native_mpi("stencil", 4, "48", "30")
    assert native.split("checksum ")[1] in checksums


async def test_reduction_finds_sum_extremes_and_location(cluster, mpi_wasm):
    result = await run_world(cluster, mpi_wasm("reduction"), 3, "1000")
    assert result.stdout == b"sum 500500 min 1 max 1000\nlargest square 1000000 on rank 2\n"
