"""Self-checking OpenMP programs covering the runtime ABI, with 1, 2, 4 and 8 threads.

Each program checks itself and returns its number of failed checks. Shared
memory runs all of them; snapshot mode (threads on copies of memory, merged
at the join) runs those whose semantics survive without shared memory.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time

import pytest

from faabric.config import FunctionLimits
from faabric.exceptions import GranuleTimeoutError, GuestTrap, OpenMPError
from openmp_shim.program import OpenMPProgram
from tests.openmp_shim.conftest import THREAD_COUNTS, run_omp

EVERY_MODE = ["parallel_api", "loops", "reductions", "tasks", "faasm_reduce", "threadprivate", "orphaned", "regions"]
# other threads' writes mid-region; one heap; guest loops; guest forks
SHARED_MEMORY_ONLY = ["sync", "heap", "static_split", "guest_forks"]


async def assert_passes(cluster, wasm, program: str) -> None:
    for threads in THREAD_COUNTS:
        result = await run_omp(cluster, wasm, threads)
        text = result.stdout.decode()
        assert result.return_value == 0, f"{program} with {threads} threads:\n{text}"
        assert f"{program}: {threads} threads, 0 failures" in text


async def assert_threads_stopped_and_host_serves(cluster, next_wasm) -> None:
    """After a failed call: its OpenMP threads stop within seconds, and the host runs the next call as usual."""
    deadline = time.monotonic() + 10
    while any("-omp-" in t.name for t in threading.enumerate()) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not [t.name for t in threading.enumerate() if "-omp-" in t.name]
    result = await run_omp(cluster, next_wasm, 4)
    assert result.return_value == 0, result.stdout.decode()


@pytest.mark.parametrize("program", EVERY_MODE)
async def test_program_passes_its_checks_with_1_2_4_and_8_threads_in_either_mode(omp_cluster, omp_wasm, program):
    await assert_passes(omp_cluster, omp_wasm[program], program)


@pytest.mark.parametrize("program", SHARED_MEMORY_ONLY)
async def test_shared_memory_program_passes_its_checks_with_1_2_4_and_8_threads(cluster, omp_wasm, program):
    await assert_passes(cluster, omp_wasm[program], program)


async def test_a_heap_the_host_cannot_back_makes_malloc_return_null_instead_of_crashing(cluster, omp_wasm,
                                                                                        monkeypatch):
    def no_memory(fd, offset, length):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    with monkeypatch.context() as patch:
        patch.setattr(os, "posix_fallocate", no_memory)  # the host is out of memory for shared pages
        result = await run_omp(cluster, omp_wasm["heap"], 2, "big")
    assert b"big: null" in result.stdout, result.stdout.decode()
    result = await run_omp(cluster, omp_wasm["heap"], 2, "big")
    assert b"big: allocated" in result.stdout, result.stdout.decode()


async def test_omp_schedule_from_the_callers_environment_drives_runtime_schedules(cluster, omp_wasm):
    for threads in THREAD_COUNTS:
        result = await run_omp(cluster, omp_wasm["orphaned"], threads, OMP_SCHEDULE="dynamic,3")
        assert result.return_value == 0, result.stdout.decode()


async def test_threads_of_a_team_really_run_at_the_same_time(cluster, omp_wasm):
    result = await run_omp(cluster, omp_wasm["concurrency"], 4)
    assert result.return_value == 0, result.stdout.decode()


async def test_a_calls_worker_threads_stop_when_the_call_is_over(omp_cluster, omp_wasm):
    for threads in (4, 8, 2):
        await run_omp(omp_cluster, omp_wasm["parallel_api"], threads)
        deadline = time.monotonic() + 10
        while any("-omp-" in t.name for t in threading.enumerate()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not [t.name for t in threading.enumerate() if "-omp-" in t.name]


async def test_an_unknown_schedule_kind_is_a_typed_error(cluster, omp_wasm):
    with pytest.raises(OpenMPError, match="unknown schedule kind 999"):
        await run_omp(cluster, omp_wasm["bad_schedule"], 2)


async def test_unlocking_a_lock_not_held_is_a_typed_error(cluster, omp_wasm):
    with pytest.raises(OpenMPError, match="not held by this thread"):
        await run_omp(cluster, omp_wasm["bad_unlock"], 2)


@pytest.mark.parametrize("misuse, message", [
    ("deadlock", "omp_set_lock: this thread already holds the lock at .* \\(deadlock\\)"),
    ("destroy-held", "omp_destroy_lock: the lock at .* is still held"),
    ("nest-unheld", "omp_unset_nest_lock: the lock at .* is not held by this thread"),
    ("uninitialised", "omp_set_lock: the lock at .* was never initialised"),
])
async def test_misusing_a_lock_is_a_typed_error_in_either_mode(omp_cluster, omp_wasm, misuse, message):
    with pytest.raises(OpenMPError, match=message):
        await run_omp(omp_cluster, omp_wasm["bad_locks"], 2, args=misuse)
    result = await run_omp(omp_cluster, omp_wasm["bad_locks"], 2, args="none")  # used well, the same locks work
    assert result.return_value == 0


async def test_overlapping_merge_regions_are_a_typed_error(cluster, omp_wasm):
    with pytest.raises(OpenMPError, match="overlaps"):
        await run_omp(cluster, omp_wasm["bad_merge_region"], 2)


async def test_a_failing_thread_fails_the_call_without_leaving_its_team_hanging(cluster, omp_wasm):
    with pytest.raises(OpenMPError, match="not held by this thread"):
        await run_omp(cluster, omp_wasm["bad_thread"], 4)
    result = await run_omp(cluster, omp_wasm["parallel_api"], 4)  # the host still serves OpenMP calls
    assert result.return_value == 0


async def test_a_trap_in_a_worker_thread_is_reported_as_a_guest_trap(cluster, omp_wasm):
    with pytest.raises(GuestTrap, match="unreachable"):
        await run_omp(cluster, omp_wasm["bad_thread"], 4, args="trap")


async def test_a_trap_in_a_later_region_fails_the_call_and_its_threads_stop(omp_cluster, omp_wasm):
    with pytest.raises(GuestTrap, match="unreachable"):
        await run_omp(omp_cluster, omp_wasm["late_trap"], 4)
    await assert_threads_stopped_and_host_serves(omp_cluster, omp_wasm["regions"])


async def test_after_the_first_region_of_a_size_the_guest_starts_the_next_ones_itself(cluster, omp_wasm, monkeypatch):
    host_forks = []
    fork = OpenMPProgram.fork
    monkeypatch.setattr(OpenMPProgram, "fork", lambda self, call, parent, *rest: (
        host_forks.append(parent is self.initial), fork(self, call, parent, *rest))[1])
    result = await run_omp(cluster, omp_wasm["guest_forks"], 4, args="60")
    assert result.return_value == 0, result.stdout.decode()
    # Runs of 60 regions of 4, 2, 4 and 3 threads, then inactive regions (max-active-levels 0) and 3 threads
    # again: the host forks the first region of each run (and each inactive one); the rest start in the
    # guest. Every region's nested region asks the host (it runs serialized).
    assert host_forks.count(True) == 4 + 60 + 1
    assert host_forks.count(False) == 60 * (4 + 2 + 4 + 3 + 1 + 3)


async def test_threads_output_comes_before_what_the_initial_thread_prints_after_the_join(cluster, omp_wasm):
    result = await run_omp(cluster, omp_wasm["guest_forks"], 4, args="101")
    lines = result.stdout.decode().splitlines()
    assert result.return_value == 0, lines
    for run, size in (("default", 4), ("clause2", 2), ("default-again", 4), ("set3", 3)):
        for region in (0, 50, 100):
            after = lines.index(f"{run} after region {region}")
            printed = [lines.index(f"{run} region {region} thread {t}") for t in range(size)]
            assert max(printed) < after, (run, region)
            if region:
                assert min(printed) > lines.index(f"{run} after region {region - 50}"), (run, region)


async def test_a_trap_in_a_task_fails_the_call_and_its_threads_stop(omp_cluster, omp_wasm):
    for threads in THREAD_COUNTS:
        with pytest.raises(GuestTrap, match="unreachable"):
            await run_omp(omp_cluster, omp_wasm["task_trap"], threads)
    await assert_threads_stopped_and_host_serves(omp_cluster, omp_wasm["tasks"])


async def test_each_thread_of_a_region_prints_to_the_calls_output(cluster, omp_wasm):
    result = await run_omp(cluster, omp_wasm["regions"], 4)
    lines = sorted(line for line in result.stdout.decode().splitlines() if line.startswith("region thread"))
    assert lines == [f"region thread {t} of 4" for t in range(4)]


async def test_an_openmp_entry_point_the_runtime_lacks_traps_naming_it(cluster, omp_wasm):
    with pytest.raises(GuestTrap, match="__kmpc_doacross_fini"):
        await run_omp(cluster, omp_wasm["unimplemented"], 2)


async def test_a_thread_that_never_finishes_is_stopped_by_the_calls_time_limit(cluster, omp_wasm):
    await cluster.upload("omp", "spin_forever", omp_wasm["spin_forever"], FunctionLimits(64 << 20, 1.0))
    with pytest.raises(GranuleTimeoutError):
        await run_omp(cluster, omp_wasm["spin_forever"], 2)
