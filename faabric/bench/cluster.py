"""``faabric bench cluster``: a planner and workers as real processes on loopback.

Measures cluster start-up, the planner round trip beside a raw pyzmq
DEALER/ROUTER round trip in this process, no-op invoke latency and
throughput through the planner to worker processes, and MPI ping-pong
between two ranks on two worker processes (``mpi_bench.c pingpong``, as in
``faabric bench mpi``) beside raw pyzmq round trips of the same sizes to
an echo in another process (the same process boundary the ranks cross).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import wasmtime
import zmq

from faabric.bench.report import HIGHER, Report, json_option, percentile
from faabric.cluster import Call
from faabric.testing.processes import ProcessCluster

NOOP = '(module (memory (export "memory") 1) (func (export "_start")))'


def _raw_zmq_round_trips(count: int, size: int) -> list[float]:
    """Round trips of a DEALER to a ROUTER echo thread over loopback TCP, in µs."""
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")

    def echo() -> None:
        for _ in range(count):
            router.send_multipart(router.recv_multipart())

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    dealer = context.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    payload = b"x" * size
    times = []
    for _ in range(count):
        began = time.perf_counter()
        dealer.send(payload)
        dealer.recv()
        times.append((time.perf_counter() - began) * 1e6)
    thread.join()
    dealer.close(0)
    router.close(0)
    context.term()
    return sorted(times)


_ECHO_PROCESS = """
import sys, zmq
context = zmq.Context()
pull = context.socket(zmq.PULL)
print(pull.bind_to_random_port("tcp://127.0.0.1"), flush=True)
push = context.socket(zmq.PUSH)
push.connect(sys.stdin.readline().strip())
while True:
    message = pull.recv_multipart()
    if message == [b"stop"]:
        break
    push.send_multipart(message)
"""


def _raw_zmq_round_trips_between_processes(count: int, size: int) -> list[float]:
    """Round trips (µs) to an echo in another process over PUSH/PULL on loopback TCP: the raw cost of a hop
    between two hosts, the way MPI messages travel between workers (two-part messages, the bytes as the second)."""
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    echo = subprocess.Popen([sys.executable, "-c", _ECHO_PROCESS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with echo:
        push = context.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{echo.stdout.readline().strip()}")
        echo.stdin.write(f"tcp://127.0.0.1:{port}\n")
        echo.stdin.flush()
        header, payload = b"h" * 16, b"x" * size
        times = []
        for round_trip in range(count + count // 10):
            began = time.perf_counter()
            push.send_multipart([header, payload])
            pull.recv_multipart()
            if round_trip >= count // 10:  # the first tenth warms up
                times.append((time.perf_counter() - began) * 1e6)
        push.send_multipart([b"stop"])
        echo.stdin.close()
        try:
            echo.wait(10)
        finally:
            if echo.poll() is None:
                echo.kill()
            push.close(0)
            pull.close(0)
            context.term()
    return sorted(times)


async def _measure(cluster_address: str, pings: int, calls: int, size: int) -> dict:
    from faabric.client import connect

    results: dict = {}
    async with connect(cluster_address) as cluster:
        await cluster.upload("bench", "noop", wasmtime.wat2wasm(NOOP))
        payload = b"x" * size
        for _ in range(50):
            await cluster.ping(payload)
        times = []
        for _ in range(pings):
            began = time.perf_counter()
            await cluster.ping(payload)
            times.append((time.perf_counter() - began) * 1e6)
        results["ping"] = sorted(times)
        latencies = []
        for _ in range(min(calls, 500)):
            began = time.perf_counter()
            await cluster.invoke("bench", "noop", timeout=60)
            latencies.append((time.perf_counter() - began) * 1e6)
        results["invoke"] = sorted(latencies)
        began = time.perf_counter()
        batch = await cluster.invoke_batch([Call("bench", "noop")] * calls, timeout=120)
        results["batch_s"] = time.perf_counter() - began
        results["errors"] = sum(r.error is not None for r in batch)
    return results


async def _mpi_ping_pong(address: str, wasm: Path, iterations: int) -> dict[str, float]:
    from faabric.bench.mpi import parse_key_values
    from faabric.client import connect

    async with connect(address) as cluster:
        await cluster.upload("bench", "mpi_bench", wasm)
        result = await cluster.invoke(
            "bench", "mpi_bench", cmdline=f"pingpong {iterations}", mpi_world_size=2, timeout=600
        )
    if len({rank.host for rank in result.ranks}) != 2:
        raise RuntimeError("the two ranks did not land on two workers")
    return parse_key_values(result.stdout.decode())


def _raw_means(iterations: int) -> tuple[float, float]:
    """Mean raw round trips (µs) to another process: 8 B, and 1 MiB (as many as mpi_bench's pingpong runs)."""
    small = statistics.fmean(_raw_zmq_round_trips_between_processes(iterations, 8))
    large = statistics.fmean(_raw_zmq_round_trips_between_processes(max(20, iterations // 50), 1 << 20))
    return small, large


def _mpi_across_hosts(root: Path, iterations: int) -> dict[str, float]:
    """One-way times (µs) of ``mpi_bench pingpong`` with its two ranks on two worker processes."""
    import uvloop

    from faabric.bench.mpi import SOURCE
    from granules.toolchain import compile_wasm

    wasm = compile_wasm([SOURCE], root / "mpi_bench.wasm")
    pair = ProcessCluster(root / "pair", workers=2, slots=1)
    (root / "pair").mkdir()
    pair.start()
    try:
        return uvloop.run(_mpi_ping_pong(pair.address, wasm, iterations))
    finally:
        pair.stop()


def run_cluster(workers: int, slots: int, pings: int, calls: int, size: int, mpi_iterations: int) -> Report:
    import uvloop

    report = Report("cluster", {"workers": workers, "slots": slots, "pings": pings, "calls": calls, "bytes": size})
    with tempfile.TemporaryDirectory(prefix="faabric-bench-") as tmp:
        cluster = ProcessCluster(Path(tmp), workers=workers, slots=slots)
        began = time.perf_counter()
        cluster.start()
        start_up = time.perf_counter() - began
        try:
            measured = uvloop.run(_measure(cluster.address, pings, calls, size))
        finally:
            cluster.stop()
        # mpi_bench times whole loops (a mean per round trip), so the raw side is a mean of as many round
        # trips too: run before and after the MPI run, the better of the two (noise only ever helps MPI less).
        raw_runs = [_raw_means(mpi_iterations)]
        mpi = _mpi_across_hosts(Path(tmp), mpi_iterations)
        raw_runs.append(_raw_means(mpi_iterations))
    raw = _raw_zmq_round_trips(pings, size)
    raw_p50 = percentile(raw, 50)
    raw_small = min(small for small, _ in raw_runs)
    raw_large = min(large for _, large in raw_runs)

    report.add("start_up_s", f"cluster start-up (planner + {workers} workers, ready)", start_up, "s")
    report.add("raw_zmq_rtt_p50_us", f"baseline: raw pyzmq DEALER/ROUTER round trip, {size} B, p50", raw_p50, "µs")
    report.add(
        "planner_rtt_p50_us", f"planner request round trip (msgpack RPC, asyncio), {size} B, p50",
        percentile(measured["ping"], 50), "µs", anchor="raw pyzmq round trip", anchor_value=raw_p50,
    )
    report.add("planner_rtt_p99_us", "planner request round trip, p99", percentile(measured["ping"], 99), "µs")
    report.add("invoke_p50_us", "no-op invoke through planner and a worker process, p50", percentile(measured["invoke"], 50), "µs")
    report.add("invoke_p99_us", "no-op invoke, p99", percentile(measured["invoke"], 99), "µs")
    report.add("invoke_calls_per_s", f"no-op throughput, batch of {calls:,} over {workers} workers",
               calls / measured["batch_s"], "calls/s", better=HIGHER)
    report.add("errors", "failed calls (should be 0)", measured["errors"], "calls")
    report.add("raw_zmq_rtt_8b_us", "baseline: raw pyzmq PUSH/PULL round trip to another process, 8 B, mean",
               raw_small, "µs")
    report.add(
        "mpi_rtt_8b_us", "MPI ping-pong round trip between 2 worker processes, 8 B, mean", 2 * mpi["pingpong_8"], "µs",
        target=1.5 * raw_small, anchor="raw pyzmq round trip", anchor_value=raw_small,
    )
    megabyte = 1 << 20
    raw_bandwidth = 2 * megabyte / raw_large  # bytes per µs = MB/s
    report.add("raw_zmq_bandwidth_1mib_mb_s", "baseline: raw pyzmq 1 MiB round trips to another process",
               raw_bandwidth, "MB/s", better=HIGHER)
    report.add(
        "mpi_bandwidth_1mib_mb_s", "MPI ping-pong bandwidth between 2 worker processes, 1 MiB",
        megabyte / mpi[f"pingpong_{megabyte}"], "MB/s", better=HIGHER,
        anchor="raw pyzmq 1 MiB round trips", anchor_value=raw_bandwidth,
    )
    return report


@click.command("cluster")
@json_option
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--slots", default=4, show_default=True, type=click.IntRange(1))
@click.option("--pings", default=2000, show_default=True, type=click.IntRange(10))
@click.option("--calls", default=3000, show_default=True, type=click.IntRange(1))
@click.option("--bytes", "size", default=64, show_default=True, type=click.IntRange(0))
@click.option("--mpi-iterations", default=2000, show_default=True, type=click.IntRange(10),
              help="Ping-pong round trips per message size between two worker processes.")
def cluster_command(json_output, workers, slots, pings, calls, size, mpi_iterations) -> None:
    """Cluster start-up, planner round trips, invoke rates and MPI between hosts, with real processes."""
    run_cluster(workers, slots, pings, calls, size, mpi_iterations).emit(json_output)
