"""``faabric bench cluster``: a planner and workers as real processes on loopback.

Measures cluster start-up, the planner round trip beside a raw pyzmq
DEALER/ROUTER round trip in this process, and no-op invoke latency and
throughput through the planner to worker processes.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import click
import wasmtime
import zmq

from faabric.bench.report import HIGHER, Report, percentile
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


def run_cluster(workers: int, slots: int, pings: int, calls: int, size: int) -> Report:
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
    raw = _raw_zmq_round_trips(pings, size)
    raw_p50 = percentile(raw, 50)

    report.add("start_up_s", f"cluster start-up (planner + {workers} workers, ready)", start_up, "s")
    report.add("raw_zmq_rtt_p50_us", f"baseline: raw pyzmq DEALER/ROUTER round trip, {size} B, p50", raw_p50, "µs")
    report.add(
        "planner_rtt_p50_us", f"planner request round trip (msgpack RPC, asyncio), {size} B, p50",
        percentile(measured["ping"], 50), "µs", target=1.5 * raw_p50, anchor="raw pyzmq round trip", anchor_value=raw_p50,
    )
    report.add("planner_rtt_p99_us", "planner request round trip, p99", percentile(measured["ping"], 99), "µs")
    report.add("invoke_p50_us", "no-op invoke through planner and a worker process, p50", percentile(measured["invoke"], 50), "µs")
    report.add("invoke_p99_us", "no-op invoke, p99", percentile(measured["invoke"], 99), "µs")
    report.add("invoke_calls_per_s", f"no-op throughput, batch of {calls:,} over {workers} workers",
               calls / measured["batch_s"], "calls/s", better=HIGHER)
    report.add("errors", "failed calls (should be 0)", measured["errors"], "calls")
    report.note("cross-host MPI ping-pong and 1 MiB bandwidth: not measured yet (MPI worlds do not span hosts yet)")
    return report


@click.command("cluster")
@click.option("--json", "json_output", is_flag=True, help="Also print one JSON object as the last line.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--slots", default=4, show_default=True, type=click.IntRange(1))
@click.option("--pings", default=2000, show_default=True, type=click.IntRange(10))
@click.option("--calls", default=3000, show_default=True, type=click.IntRange(1))
@click.option("--bytes", "size", default=64, show_default=True, type=click.IntRange(0))
def cluster_command(json_output, workers, slots, pings, calls, size) -> None:
    """Cluster start-up, planner round trips and invoke rates with real processes."""
    run_cluster(workers, slots, pings, calls, size).emit(json_output)
