"""MPI worlds spanning real worker processes: ranks talk over ZeroMQ between hosts."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
import zmq

from faabric.client import connect
from faabric.exceptions import HostLostError, MpiWorldFailedError
from faabric.testing.processes import process_cluster

@pytest.fixture(scope="module")
def three_workers(tmp_path_factory):
    """Three workers of two slots: a world of six has two ranks on each."""
    with process_cluster(tmp_path_factory.mktemp("procs"), workers=3, slots=2, host_timeout=2.0) as running:
        yield running


async def run(address: str, wasm_path: Path, ranks: int, cmdline: str = ""):
    async with connect(address) as cluster:
        await cluster.upload("mpi", wasm_path.stem, wasm_path)
        return await cluster.invoke("mpi", wasm_path.stem, cmdline=cmdline, mpi_world_size=ranks, timeout=120)


@pytest.mark.parametrize("ranks", [4, 6])
@pytest.mark.parametrize("program", ["p2p", "collectives", "comms", "extras", "nonblocking"])
async def test_self_checking_programs_pass_with_ranks_on_several_workers(three_workers, mpi_wasm, program, ranks):
    result = await run(three_workers.address, mpi_wasm(program), ranks)
    assert result.error is None, result.error
    assert [r.return_value for r in result.ranks] == [0] * ranks, result.stdout.decode()
    assert b" 0 failures" in result.stdout, result.stdout.decode()
    assert len({r.host for r in result.ranks}) == ranks // 2


async def test_examples_give_the_same_answers_across_workers(three_workers, mpi_wasm):
    ring = await run(three_workers.address, mpi_wasm("ring"), 6)
    assert ring.error is None and ring.stdout == b"token after 3 laps of 6 ranks: 45\n", ring.stdout
    pi = await run(three_workers.address, mpi_wasm("pi"), 6)
    assert pi.error is None and pi.stdout.startswith(b"pi is approximately 3.14159265"), pi.stdout


async def test_malformed_peer_messages_are_dropped_and_worlds_still_run(three_workers, mpi_wasm):
    context = zmq.Context()
    for worker in three_workers.workers:
        address = re.search(r"peers reach it at (\S+)", worker.log()).group(1)
        push = context.socket(zmq.PUSH)
        push.connect(address)
        for junk in ([b"mpi", b"\xff\xfe garbage"], [b"mpi", b"\x92\x00\x01"], [b"mpi"], [b"nope", b"x"],
                     [b"mpi", b"\x98\x00\x01\x00\x00\x00\x00\x00\xa0", b"data"], [b"mpi", b"\x93\x04\x01\x00", b"\xc1"]):
            push.send_multipart(junk)
        push.close(1000)
    context.term()
    result = await run(three_workers.address, mpi_wasm("collectives"), 6)
    assert result.error is None and b" 0 failures" in result.stdout
    logs = "".join(worker.log() for worker in three_workers.workers)
    assert "dropped a malformed MPI message" in logs
    assert "unknown topic" in logs


@pytest.mark.parametrize("victim", ["rank 0's worker", "another worker"])
async def test_killing_a_worker_mid_job_fails_the_world_naming_it_and_the_cluster_runs_on(tmp_path, mpi_wasm, victim):
    with process_cluster(tmp_path, workers=3, slots=2, host_timeout=2.0) as processes:
        async with connect(processes.address) as cluster:
            await cluster.upload("mpi", "forever", mpi_wasm("forever"))
            await cluster.upload("mpi", "hello", mpi_wasm("hello"))
            job = asyncio.ensure_future(
                cluster.invoke("mpi", "forever", mpi_world_size=6, timeout=60, raise_on_error=False)
            )
            await _until_every_worker_is_busy(cluster)
            rank0_host = _rank0_host(processes)
            target = next(
                w for w in processes.workers if (w.host_id == rank0_host) == (victim == "rank 0's worker")
            )
            killed = time.monotonic()
            target.kill()
            result = await job
            assert time.monotonic() - killed < 10
            assert isinstance(result.error, HostLostError) and result.error.host == target.host_id, result.error
            if victim == "another worker":
                assert all(isinstance(r.error, (HostLostError, MpiWorldFailedError)) for r in result.ranks)
                assert sum(isinstance(r.error, HostLostError) for r in result.ranks) == 2
            # The survivors' ranks stopped too: a world filling the two live workers runs at once.
            after = await cluster.invoke("mpi", "hello", mpi_world_size=4, timeout=30)
            assert len(after.ranks) == 4


async def _until_every_worker_is_busy(cluster) -> None:
    for _ in range(200):
        info = await cluster.status()
        if all(h["used"] == h["slots"] for h in info["hosts"].values()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the world never filled the cluster: {info}")


def _rank0_host(processes) -> str:
    (host,) = [w.host_id for w in processes.workers if re.search(r"MPI world \d+ of 6 ranks starts here", w.log())]
    return host


def test_cli_invoke_runs_a_world_across_workers_and_exits_non_zero_when_a_rank_fails(three_workers, mpi_wasm, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FAABRIC_HOME": str(tmp_path / "cli"), "FAABRIC_PLANNER": three_workers.address}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "faabric", *args], env=env, capture_output=True, timeout=120)

    assert cli("upload", "mpi", "ring", str(mpi_wasm("ring"))).returncode == 0
    assert cli("upload", "mpi", "bad_input", str(mpi_wasm("bad_input"))).returncode == 0
    ring = cli("invoke", "mpi", "ring", "-n", "6")
    assert ring.returncode == 0, ring.stderr
    assert b"token after 3 laps of 6 ranks: 45" in ring.stdout
    trap = cli("invoke", "mpi", "bad_input", "-n", "6", "--cmdline", "trap")
    assert trap.returncode != 0
    assert b"rank 5" in trap.stderr, trap.stderr
