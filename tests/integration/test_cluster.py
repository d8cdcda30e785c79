"""A real cluster: planner and worker processes over ZeroMQ on loopback."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys

import pytest
import zmq
import zmq.asyncio

import faabric
from faabric.client import connect
from faabric.planner.planner import HostLostError
from faabric.testing.processes import process_cluster
from tests.conftest import wat
from tests.granules import wat_modules as m


@pytest.fixture(scope="module")
def cluster_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture
def processes(tmp_path):
    with process_cluster(tmp_path, workers=2, slots=2, host_timeout=2.0) as running:
        yield running


async def test_calls_and_chained_calls_spread_over_worker_processes(processes):
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "spin", wat(m.SPIN))
        await cluster.upload("demo", "fanout", wat(m.FAN_OUT))
        result = await cluster.invoke("demo", "fanout", struct.pack("<I", 5), timeout=60)
        assert struct.unpack("<i", result.output)[0] == 0
        everything = await cluster.wait_app(result.app_id, 6, timeout=10)
    hosts = {r.host for r in everything}
    assert hosts == {w.host_id for w in processes.workers}, "chained calls did not reach the second worker"


async def test_an_mpi_world_runs_through_the_planner_on_one_worker(processes):
    from granules.toolchain import compile_wasm

    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "mpi")
    module = compile_wasm([os.path.join(examples, "hello.c")], processes.root / "mpi_hello.wasm")
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "mpi_hello", module)
        result = await cluster.invoke("demo", "mpi_hello", timeout=60, mpi_world_size=2)
    assert [r.stdout for r in result.ranks] == [b"Hello from rank 0 of 2, got 123\n", b"Hello from rank 1 of 2, got 123\n"]
    assert len({r.host for r in result.ranks}) == 1


async def test_status_lists_hosts_slots_and_functions(processes):
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "echo", wat(m.ECHO))
        info = await cluster.status()
    assert set(info["hosts"]) == {w.host_id for w in processes.workers}
    assert all(h["slots"] == 2 and h["used"] == 0 for h in info["hosts"].values())
    assert "demo/echo" in info["functions"]


async def test_a_killed_worker_fails_its_calls_naming_it_and_the_cluster_runs_on(processes):
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "loop", wat(m.INFINITE_LOOP), faabric.FunctionLimits(time_seconds=8))
        await cluster.upload("demo", "echo", wat(m.ECHO))
        # Four loops fill both workers' slots. Without loss detection the victim's
        # two calls would end in CallTimeoutError after 30 s; the survivor's end
        # by their own time limit.
        calls = [asyncio.ensure_future(cluster.invoke("demo", "loop", timeout=30)) for _ in range(4)]
        await asyncio.sleep(1.0)
        victim = processes.workers[0]
        victim.kill()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        lost = [o for o in outcomes if isinstance(o, HostLostError)]
        assert len(lost) == 2 and all(e.host == victim.host_id for e in lost), outcomes
        assert sum(isinstance(o, faabric.GranuleTimeoutError) for o in outcomes) == 2, outcomes
        assert (await cluster.invoke("demo", "echo", b"after", timeout=30)).output == b"after"


async def test_malformed_frames_are_dropped_and_the_planner_keeps_serving(processes):
    context = zmq.asyncio.Context()
    raw = context.socket(zmq.DEALER)
    raw.connect(processes.address)
    for junk in (b"", b"\xff\xfe garbage", b"\x93\x01\x02", b"\x94\x01\x01\xa4nope\xc0", os.urandom(64)):
        await raw.send(junk)
    await raw.send_multipart([b"two", b"parts"])
    await asyncio.sleep(0.3)
    raw.close(0)
    context.term()
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "echo", wat(m.ECHO))
        assert (await cluster.invoke("demo", "echo", b"fine", timeout=30)).output == b"fine"
    assert "dropped a frame" in processes.planner.log()


async def test_unknown_function_errors_travel_back_typed(processes):
    async with connect(processes.address) as cluster:
        with pytest.raises(faabric.FunctionNotFoundError, match="demo/ghost"):
            await cluster.invoke("demo", "ghost", timeout=30)


def test_cli_upload_invoke_and_status_against_the_cluster(processes, tmp_path):
    env = {**os.environ, "FAABRIC_HOME": str(tmp_path / "cli"), "FAABRIC_PLANNER": processes.address}
    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "faabric", *args], env=env, capture_output=True, timeout=120)

    for name in ("square", "fanout"):
        assert cli("upload", "demo", name, os.path.join(examples, f"{name}.c")).returncode == 0
    done = cli("invoke", "demo", "fanout", "--input", "7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(b"91")
    status = cli("status")
    assert status.returncode == 0 and b"worker1" in status.stdout


def test_sigterm_stops_every_process_cleanly(tmp_path):
    with process_cluster(tmp_path, workers=1) as running:
        workers = list(running.workers)
        codes = running.stop()
        running.workers.clear()
        running.planner = None
    assert codes == {"worker1": 0, "planner": 0}
    assert "stopped" in workers[0].log()


async def test_workers_rejoin_a_restarted_planner(tmp_path):
    with process_cluster(tmp_path, workers=1, slots=2) as running:
        assert running.restart_planner() == 0
        running.workers[0].wait_for_line("registered again")
        async with connect(running.address) as cluster:
            await cluster.upload("demo", "echo", wat(m.ECHO))
            assert (await cluster.invoke("demo", "echo", b"back", timeout=30)).output == b"back"
