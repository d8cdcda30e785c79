"""``faabric bench invoke``: call rates and latencies through the embedded runtime.

A :class:`~faabric.cluster.LocalCluster` with one host runs a no-op WAT
function: sequentially (latency), many at once (throughput, as one batch
and as concurrent asyncio tasks), and as a guest that chains N calls of it
and awaits them all (fan-out). A baseline measured in the same run, a
wasmtime Store + Instance + call of the same module with no runtime around
it, shows what the runtime adds.
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
import time
from pathlib import Path

import click
import wasmtime

from faabric.bench.report import HIGHER, Report, json_option, percentile, progress
from faabric.cluster import Call, LocalCluster
from faabric.config import SystemConfig
from faabric.messages import new_call
from faabric.testing.guests import fan_out_wat

USER = "bench"
NOOP_WAT = '(module (memory (export "memory") 1) (func (export "_start")))'

TARGET_CALLS_PER_S = 5000.0
RAY_ASYNC_CALLS_PER_S = 8000.0
LUNATIC_SPAWNS_PER_S = 5000.0


def _raw_baseline(engine, module: wasmtime.Module, iterations: int) -> list[float]:
    """Sorted µs of a fresh Store + Instance + call of ``module``, with no runtime around it."""
    clock = time.perf_counter_ns

    def once() -> None:
        store = wasmtime.Store(engine)
        instance = wasmtime.Instance(store, module, [])
        instance.exports(store)["_start"](store)

    for _ in range(min(200, iterations)):
        once()
    samples = []
    for _ in range(iterations):
        start = clock()
        once()
        samples.append((clock() - start) / 1e3)
    samples.sort()
    return samples


async def _measure(home: Path, calls: int, iterations: int, concurrency: int, fan_out: int) -> dict:
    config = SystemConfig.from_env(home=home)
    results: dict = {"errors": 0}
    noop = wasmtime.wat2wasm(NOOP_WAT)
    async with LocalCluster(hosts=1, config=config) as cluster:
        await cluster.upload(USER, "noop", noop)
        await cluster.upload(USER, "fan_out", wasmtime.wat2wasm(fan_out_wat("noop")))
        for _ in range(min(200, iterations)):
            await cluster.invoke(USER, "noop")

        progress(f"{iterations:,} sequential calls")
        clock = time.perf_counter_ns
        latencies, run_ms = [], []
        for _ in range(iterations):
            start = clock()
            result = await cluster.invoke(USER, "noop")
            latencies.append((clock() - start) / 1e3)
            run_ms.append(result.run_ms)
        latencies.sort()
        run_ms.sort()
        results["seq"] = latencies
        results["seq_run_us"] = [ms * 1e3 for ms in run_ms]

        progress(f"a batch of {calls:,} calls")
        start = time.perf_counter()
        batch = await cluster.invoke_batch([Call(USER, "noop")] * calls)
        results["batch_s"] = time.perf_counter() - start
        results["errors"] += sum(r.error is not None for r in batch)
        results["batch_queue_ms"] = sorted(r.queue_ms for r in batch)
        del batch

        progress(f"{calls:,} calls from {concurrency} concurrent tasks")
        remaining = calls

        async def worker() -> int:
            nonlocal remaining
            failed = 0
            while remaining > 0:
                remaining -= 1
                result = await cluster.invoke(USER, "noop", raise_on_error=False)
                failed += result.error is not None
            return failed

        start = time.perf_counter()
        failures = await asyncio.gather(*(worker() for _ in range(concurrency)))
        results["concurrent_s"] = time.perf_counter() - start
        results["errors"] += sum(failures)

        progress(f"a guest chaining {fan_out:,} calls and awaiting them")
        fan_times = []
        for _ in range(3):
            start = time.perf_counter()
            result = await cluster.invoke(USER, "fan_out", struct.pack("<I", fan_out), raise_on_error=False)
            fan_times.append(time.perf_counter() - start)
            if result.error is not None or struct.unpack("<i", result.output)[0] != 0:
                results["errors"] += 1
                progress(f"fan-out failed: {result.error or result.output!r}")
        results["fan_out_s"] = sorted(fan_times)[len(fan_times) // 2]

        progress(f"baseline: {iterations:,} calls of runtime.execute on this thread, no scheduler")
        executor = cluster.hosts[0].executor
        direct = []
        for number in range(min(200, iterations) + iterations):
            message = new_call(cluster.ids, USER, "noop")
            start = clock()
            executor.execute(message, None)  # a no-op makes no host calls: no call context needed
            if number >= min(200, iterations):
                direct.append((clock() - start) / 1e3)
        direct.sort()
        results["direct"] = direct

        progress(f"baseline: {iterations:,} raw wasmtime Store+Instance+call")
        module = cluster.engine.module(noop)
        results["raw"] = _raw_baseline(cluster.engine.engine, module, iterations)
    return results


def run_invoke(calls: int, iterations: int, concurrency: int, fan_out: int) -> Report:
    import uvloop

    report = Report(
        "invoke", {"calls": calls, "iterations": iterations, "concurrency": concurrency, "fan_out": fan_out, "hosts": 1}
    )
    with tempfile.TemporaryDirectory(prefix="faabric-bench-") as tmp:
        r = uvloop.run(_measure(Path(tmp) / "home", calls, iterations, concurrency, fan_out))

    raw_p50 = percentile(r["raw"], 50)
    raw_rate = 1e6 / (sum(r["raw"]) / len(r["raw"]))
    seq_p50 = percentile(r["seq"], 50)
    batch_rate = calls / r["batch_s"]
    concurrent_rate = calls / r["concurrent_s"]
    baseline = "raw wasmtime-py, this run"

    report.add(
        "batch_calls_per_s", f"no-op throughput, invoke_batch of {calls:,}", batch_rate, "calls/s",
        target=TARGET_CALLS_PER_S, better=HIGHER, anchor="Ray async actor calls", anchor_value=RAY_ASYNC_CALLS_PER_S,
    )
    report.add(
        "concurrent_calls_per_s", f"no-op throughput, {concurrency} tasks looping invoke", concurrent_rate,
        "calls/s", target=TARGET_CALLS_PER_S, better=HIGHER,
        anchor="Ray async actor calls", anchor_value=RAY_ASYNC_CALLS_PER_S,
    )
    report.add("batch_queue_p50_ms", "batch: time queued for a slot, p50", percentile(r["batch_queue_ms"], 50), "ms")
    report.add("seq_p50_us", "sequential invoke latency, p50", seq_p50, "µs", anchor=baseline, anchor_value=raw_p50)
    report.add("seq_p99_us", "sequential invoke latency, p99", percentile(r["seq"], 99), "µs")
    report.add("seq_run_p50_us", "  of which on the worker (restore+run), p50", percentile(r["seq_run_us"], 50), "µs")
    report.add(
        "fan_out_ms", f"fan-out: guest chains {fan_out:,} no-op calls, awaits all", r["fan_out_s"] * 1e3, "ms"
    )
    report.add(
        "fan_out_calls_per_s", "fan-out rate", fan_out / r["fan_out_s"], "calls/s", better=HIGHER,
        anchor="Lunatic spawns", anchor_value=LUNATIC_SPAWNS_PER_S,
    )
    direct_p50 = percentile(r["direct"], 50)
    report.add("direct_p50_us", "baseline: runtime.execute on one thread, no scheduler, p50", direct_p50, "µs")
    report.add("scheduling_p50_us", "scheduling cost: sequential p50 - direct p50", seq_p50 - direct_p50, "µs")
    report.add("raw_call_p50_us", "baseline: raw wasmtime-py Store+Instance+call, p50", raw_p50, "µs")
    report.add("raw_calls_per_s", "baseline: raw wasmtime-py calls, one thread", raw_rate, "calls/s")
    report.add("seq_vs_raw", "runtime overhead: sequential p50 / raw p50", seq_p50 / raw_p50, "x")
    report.add("batch_vs_raw", "runtime overhead: raw rate / batch rate", raw_rate / batch_rate, "x")
    report.add("errors", "failed calls (should be 0)", r["errors"], "calls")
    if r["errors"]:
        progress(f"warning: {r['errors']} calls failed; rates above include them")
    return report


@click.command("invoke")
@json_option
@click.option("--calls", default=5000, show_default=True, type=click.IntRange(1),
              help="Calls in each throughput run (the batch, and the concurrent tasks).")
@click.option("--iterations", default=2000, show_default=True, type=click.IntRange(1),
              help="Sequential calls timed for latency, and raw baseline iterations.")
@click.option("--concurrency", default=64, show_default=True, type=click.IntRange(1),
              help="Asyncio tasks each looping invoke.")
@click.option("--fan-out", default=1000, show_default=True, type=click.IntRange(1, 15000),
              help="Calls the fan-out guest chains and awaits.")
def invoke_command(json_output, calls, iterations, concurrency, fan_out) -> None:
    """No-op call throughput, latency and a guest's fan-out, against a raw wasmtime baseline."""
    report = run_invoke(calls, iterations, concurrency, fan_out)
    report.emit(json_output)
