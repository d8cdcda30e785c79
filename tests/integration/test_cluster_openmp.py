"""OpenMP threads on another worker process: sent through the planner with a snapshot, merged at the join."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from faabric.client import connect
from faabric.exceptions import OpenMPError
from faabric.testing.processes import process_cluster
from granules.toolchain import compile_wasm

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "pi": ROOT / "examples" / "omp" / "pi.c",
    "remote_threads": ROOT / "tests" / "openmp_shim" / "programs" / "remote_threads.c",
    "remote_bad": ROOT / "tests" / "openmp_shim" / "programs" / "remote_bad.c",
}
# One thread per team stays with the forking call; two slots per worker, so bin-pack sends the others to both workers.
OMP_ENV = {"FAABRIC_OMP_MODE": "snapshot", "FAABRIC_OMP_LOCAL_THREADS": "1"}


@pytest.fixture(scope="module")
def omp_modules(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("omp-cluster-wasm")
    return {name: compile_wasm([source], out / f"{name}.wasm", ["-fopenmp"]) for name, source in SOURCES.items()}


@pytest.fixture
def processes(tmp_path):
    with process_cluster(tmp_path, workers=2, slots=2, env=OMP_ENV) as running:
        yield running


async def invoke_with_threads(cluster, modules, name: str, threads: int, args: str = "", raise_on_error: bool = True):
    await cluster.upload("omp", name, modules[name].read_bytes())
    return await cluster.invoke(
        "omp", name, cmdline=args, env={"OMP_NUM_THREADS": str(threads)}, timeout=60, raise_on_error=raise_on_error
    )


async def test_pi_threads_run_on_the_other_worker_and_merge_back(processes, omp_modules):
    async with connect(processes.address) as cluster:
        result = await invoke_with_threads(cluster, omp_modules, "pi", 4, "200000")
        pi = float(re.search(r"^pi=(\S+)$", result.stdout.decode(), re.M).group(1))
        assert abs(pi - math.pi) < 1e-8
        everything = await cluster.wait_app(result.app_id, 1 + 2 * 3, timeout=10)  # two regions, three remote threads
    thread_hosts = {call.host for call in everything if call.id != result.id}
    assert all(call.error is None for call in everything)
    assert thread_hosts - {result.host}, "no thread ran on the other worker"
    assert {result.host} | thread_hosts == {w.host_id for w in processes.workers}


async def test_shared_arrays_reductions_and_output_come_back_from_the_other_worker(processes, omp_modules):
    async with connect(processes.address) as cluster:
        result = await invoke_with_threads(cluster, omp_modules, "remote_threads", 4)
        text = result.stdout.decode()
        assert result.return_value == 0, text
        assert "remote_threads: 4 threads, 0 failures" in text
        assert sorted(line for line in text.splitlines() if line.startswith("thread ")) == [
            f"thread {t} of 4" for t in range(4)
        ]
        everything = await cluster.wait_app(result.app_id, 1 + 5 * 3, timeout=10)  # five regions
    assert {call.host for call in everything if call.id != result.id} - {result.host}


async def test_a_trap_in_a_remote_thread_fails_the_call_naming_the_thread_and_its_host(processes, omp_modules):
    hosts = "|".join(re.escape(w.host_id) for w in processes.workers)
    async with connect(processes.address) as cluster:
        with pytest.raises(OpenMPError, match=rf"thread 3 on host ({hosts}) failed: GuestTrap: .*unreachable"):
            await invoke_with_threads(cluster, omp_modules, "remote_bad", 4, "trap")
        result = await invoke_with_threads(cluster, omp_modules, "pi", 4, "1000")  # the cluster still runs OpenMP
        assert result.return_value == 0
