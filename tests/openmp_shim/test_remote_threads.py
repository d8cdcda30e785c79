"""Threads past the local limit run as thread calls through the planner, from a shipped snapshot.

On one embedded host the thread calls land on the same host, but they run
exactly as on another one: from the snapshot they carry, their diffs merged
back at the join.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from faabric.cluster import LocalCluster
from faabric.config import SystemConfig
from faabric.exceptions import ConfigError, OpenMPError
from tests.openmp_shim.conftest import run_omp


@pytest.fixture(params=[1, 2], ids=["1-local", "2-local"])
async def remote_cluster(config, request):
    """An embedded cluster whose OpenMP teams keep ``request.param`` threads on the forking host."""
    settings = dataclasses.replace(config, omp_mode="snapshot", omp_local_threads=request.param)
    async with LocalCluster(config=settings) as running:
        yield running


@pytest.mark.parametrize("threads", [2, 4])
async def test_pi_by_reduction_is_pi_with_threads_on_the_planner(remote_cluster, omp_wasm, threads):
    result = await run_omp(remote_cluster, omp_wasm["example_pi"], threads, "200000")
    pi = float(re.search(r"^pi=(\S+)$", result.stdout.decode(), re.M).group(1))
    assert abs(pi - math.pi) < 1e-8
    remote = threads - remote_cluster.config.omp_local_threads
    calls = await remote_cluster.wait_app(result.app_id, 1 + 2 * remote, timeout=10)  # two parallel regions
    assert sorted(c.function for c in calls) == ["omp/example_pi"] * (1 + 2 * remote)
    assert all(c.error is None and c.host == "local-1" for c in calls)


@pytest.mark.parametrize("threads", [2, 4])
async def test_shared_arrays_reductions_and_merge_regions_come_back_from_remote_threads(
    remote_cluster, omp_wasm, threads
):
    result = await run_omp(remote_cluster, omp_wasm["remote_threads"], threads)
    text = result.stdout.decode()
    assert result.return_value == 0, text
    assert f"remote_threads: {threads} threads, 0 failures" in text
    greetings = sorted(line for line in text.splitlines() if line.startswith("thread "))
    assert greetings == sorted(f"thread {t} of {threads}" for t in range(threads))  # remote output included


async def test_matrix_multiply_and_faasm_reduce_are_right_with_remote_threads(remote_cluster, omp_wasm):
    result = await run_omp(remote_cluster, omp_wasm["example_matmul"], 4, "48")
    assert result.return_value == 0, result.stdout.decode()
    result = await run_omp(remote_cluster, omp_wasm["faasm_reduce"], 4)
    assert "faasm_reduce: 4 threads, 0 failures" in result.stdout.decode()


@pytest.mark.parametrize(("construct", "match"), [
    ("barrier", "a barrier .* needs the whole team"),
    ("dynamic", "a dynamic loop schedule needs the whole team"),
])
async def test_a_construct_that_waits_for_the_team_fails_loudly_in_a_remote_thread(
    remote_cluster, omp_wasm, construct, match
):
    with pytest.raises(OpenMPError, match=rf"thread \d on host local-1 failed: OpenMPError: .*{match}"):
        await run_omp(remote_cluster, omp_wasm["remote_bad"], 4, construct)


async def test_single_fails_loudly_in_a_remote_thread(remote_cluster, omp_wasm):
    with pytest.raises(OpenMPError, match="single needs the whole team, but thread .* runs on host local-1"):
        await run_omp(remote_cluster, omp_wasm["example_hello"], 4)


async def test_a_trap_in_a_remote_thread_fails_the_region_naming_the_thread_and_host(remote_cluster, omp_wasm):
    with pytest.raises(OpenMPError, match=r"thread 3 on host local-1 failed: GuestTrap: .*unreachable"):
        await run_omp(remote_cluster, omp_wasm["remote_bad"], 4, "trap")
    result = await run_omp(remote_cluster, omp_wasm["example_pi"], 4, "1000")  # the host still serves OpenMP
    assert result.return_value == 0


def test_the_local_thread_limit_comes_from_the_environment_and_needs_snapshot_mode():
    config = SystemConfig.from_env({"FAABRIC_OMP_LOCAL_THREADS": "2", "FAABRIC_OMP_MODE": "snapshot"})
    assert config.omp_local_threads == 2
    assert SystemConfig.from_env({}).omp_local_threads == 0
    with pytest.raises(ConfigError, match="needs omp_mode 'snapshot'"):
        SystemConfig.from_env({"FAABRIC_OMP_LOCAL_THREADS": "2"})
    with pytest.raises(ConfigError, match="omp_local_threads must be"):
        SystemConfig.from_env({"FAABRIC_OMP_LOCAL_THREADS": "-1", "FAABRIC_OMP_MODE": "snapshot"})
