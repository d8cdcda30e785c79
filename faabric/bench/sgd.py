"""``faabric bench sgd``: Hogwild SGD sharing state in place vs copying it (Faasm paper §6).

The example ``examples/state/sgd.c`` generates a synthetic sparse dataset into
state; then, each epoch, N granules train at the same time. ``shared``: each
maps the data and the weights straight into its memory (the same physical
pages). ``copy`` (the baseline): each first copies the data and the weights in
from the global tier, as a function on a container platform would, and writes
its weights back. Both run on one host against the same global tier (by
default a redis-server started for the run).

Time is the wall time of all epochs. Memory is the peak of this process's
proportional set size (PSS: pages mapped several times count once), over
what it was before the dataset was generated (so the local state tier's
copy counts in both modes), sampled every few milliseconds during one more
epoch in which the workers wait for one another when done, so all N are
alive at once, as N containers would be. Every granule of an epoch runs at
once (``cores`` is set to N).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from faabric.bench.report import HIGHER, Report, counts, json_option, progress
from faabric.config import FunctionLimits, SystemConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state" / "sgd.c"
USER = "sgd"
TARGET_SPEEDUP = 2.0
TARGET_MEMORY_SAVING = 5.0
PAPER_SPEEDUP = 2.0  # Faasm vs Knative, ATC'20
PAPER_MEMORY_SAVING = 10.0


def pss_bytes() -> int:
    """This process's proportional set size."""
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise OSError("no Pss line in /proc/self/smaps_rollup")


def release_free_memory() -> None:
    """Collect garbage and give free heap pages back to the system (glibc ``malloc_trim``)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


class PeakSampler:
    """Samples PSS on a thread; ``peak`` is the highest value seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = pss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, pss_bytes())

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, pss_bytes())


@dataclasses.dataclass(frozen=True)
class Dataset:
    examples: int
    features: int
    nnz: int

    def args(self) -> str:
        return f"{self.examples} {self.features} {self.nnz}"

    @property
    def nbytes(self) -> int:
        return self.examples * (self.nnz * 8 + 4) + self.features * 4


async def run_one(home: Path, wasm: Path, redis_url: str | None, data: Dataset, workers: int, epochs: int, mode: str) -> dict:
    """One fresh cluster: generate the data, train, evaluate; time and peak memory of training."""
    from faabric.cluster import Call, LocalCluster

    config = SystemConfig.from_env(
        env={}, home=home, cores=workers, slots=max(workers, 2), redis_url=redis_url,
        limits=FunctionLimits(memory_bytes=2 << 30, time_seconds=600),
    )
    async with LocalCluster(config=config) as cluster:
        await cluster.upload(USER, "sgd", wasm)
        release_free_memory()
        before = pss_bytes()  # so the state tier's copy of the data counts in both modes
        await cluster.invoke(USER, "sgd", f"gen {data.args()} 42")

        async def epoch(number: int, hold: str = "") -> None:
            calls = [Call(USER, "sgd", f"{mode} {data.args()} {w} {workers} {number} {hold}".encode()) for w in range(workers)]
            for result in await cluster.invoke_batch(calls):
                result.raise_for_error()

        started = time.perf_counter()
        for number in range(epochs):
            await epoch(number)
        seconds = time.perf_counter() - started
        release_free_memory()  # what earlier epochs freed is not in use
        with PeakSampler() as sampler:
            await epoch(epochs, "hold")
        correct, total = map(int, (await cluster.invoke(USER, "sgd", f"eval {data.args()}")).output.split())
    return {"seconds": seconds, "memory": max(0, sampler.peak - before), "accuracy": correct / total}


def measure(workers_list: list[int], epochs: int, data: Dataset, use_redis: bool) -> dict:
    """Every (mode, workers) pair in a fresh process, so no run inherits another's memory."""
    from faabric.testing.redis import redis_server
    from granules.toolchain import compile_wasm

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="faabric-bench-sgd-") as tmp, contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server()) if use_redis else None
        wasm = compile_wasm([EXAMPLE], Path(tmp) / "sgd.wasm")
        for workers in workers_list:
            for mode in ("shared", "copy"):
                progress(f"{mode}: {workers} workers x {epochs} epochs on {data.nbytes / 1e6:.1f} MB of data")
                job = {"home": str(Path(tmp) / "home"), "wasm": str(wasm), "redis_url": redis_url,
                       "data": dataclasses.asdict(data), "workers": workers, "epochs": epochs, "mode": mode}
                done = subprocess.run(
                    [sys.executable, "-m", "faabric.bench.sgd", json.dumps(job)], capture_output=True, text=True
                )
                if done.returncode != 0:
                    raise click.ClickException(f"{mode} run with {workers} workers failed:\n{done.stderr.strip()}")
                results[(mode, workers)] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def _run_job(job: dict) -> dict:
    data = Dataset(**job["data"])
    return asyncio.run(
        run_one(Path(job["home"]), Path(job["wasm"]), job["redis_url"], data, job["workers"], job["epochs"], job["mode"])
    )


def build_report(results: dict, workers_list: list[int], epochs: int, data: Dataset, use_redis: bool) -> Report:
    report = Report(
        "sgd",
        {"examples": data.examples, "features": data.features, "nnz": data.nnz, "epochs": epochs,
         "data_mb": round(data.nbytes / 1e6, 1), "global_tier": "redis" if use_redis else "in-memory"},
    )
    for workers in workers_list:
        shared, copy = results[("shared", workers)], results[("copy", workers)]
        last = workers == max(workers_list)
        report.add(f"shared_s_{workers}", f"{workers} workers: shared state, time", shared["seconds"], "s")
        report.add(f"copy_s_{workers}", f"{workers} workers: copying baseline, time", copy["seconds"], "s")
        report.add(f"shared_mb_{workers}", f"{workers} workers: shared state, peak memory", shared["memory"] / 1e6, "MB")
        report.add(f"copy_mb_{workers}", f"{workers} workers: copying baseline, peak memory", copy["memory"] / 1e6, "MB")
        report.add(
            f"speedup_{workers}", f"{workers} workers: speed-up (baseline time / shared time)",
            copy["seconds"] / shared["seconds"], "x", better=HIGHER,
            target=TARGET_SPEEDUP if last else None,
            anchor="Faasm vs Knative" if last else None, anchor_value=PAPER_SPEEDUP if last else None,
        )
        report.add(
            f"memory_saving_{workers}", f"{workers} workers: memory saving (baseline / shared)",
            copy["memory"] / max(shared["memory"], 1), "x", better=HIGHER,
            target=TARGET_MEMORY_SAVING if last else None,
            anchor="Faasm vs Knative" if last else None, anchor_value=PAPER_MEMORY_SAVING if last else None,
        )
        report.add(f"shared_accuracy_{workers}", f"{workers} workers: shared state, accuracy", shared["accuracy"], "", better=HIGHER)
        report.add(f"copy_accuracy_{workers}", f"{workers} workers: copying baseline, accuracy", copy["accuracy"], "", better=HIGHER)
    report.note("memory: peak PSS of this process, over its PSS before the data was generated, in an extra epoch")
    report.note("  whose workers all wait until all are done; includes the local tier's copy, not Redis's")
    report.note("every granule of an epoch runs at once (cores = workers), on this machine's CPUs")
    return report


@click.command("sgd")
@json_option
@click.option("--workers", "workers_text", default="2,4,8", show_default=True, help="Worker counts to compare.")
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1))
@click.option("--examples", default=100_000, show_default=True, type=click.IntRange(1))
@click.option("--features", default=20_000, show_default=True, type=click.IntRange(1))
@click.option("--nnz", default=32, show_default=True, type=click.IntRange(1), help="Non-zero features per example.")
@click.option("--redis/--in-memory", "use_redis", default=True, show_default=True,
              help="Global tier: a redis-server started for the run, or in memory.")
def sgd_command(json_output, workers_text, epochs, examples, features, nnz, use_redis) -> None:
    """Hogwild SGD: state shared in place vs copied in by every function."""
    workers_list = counts(workers_text, "worker counts", "2,4,8")
    data = Dataset(examples, features, nnz)
    results = measure(workers_list, epochs, data, use_redis)
    build_report(results, workers_list, epochs, data, use_redis).emit(json_output)


if __name__ == "__main__":  # one measured run, in its own process (see measure)
    print(json.dumps(_run_job(json.loads(sys.argv[1]))))
