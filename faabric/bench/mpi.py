"""``faabric bench mpi``: MPI on the embedded runtime beside native MPICH.

One C source (``mpi_shim/bench/mpi_bench.c``) is built twice: to wasm with
``faabric cc``'s toolchain, and natively with Debian's ``mpicc``. Both run in
the same command, the wasm build as MPI worlds of a
:class:`~faabric.cluster.LocalCluster`, the native one under ``mpirun``; every
row shows the ratio to native. Measured: ping-pong latency and bandwidth from
8 B to 8 MiB (2 ranks), Allreduce/Bcast/Alltoall latency at 2, 4 and 8 ranks,
and two kernels (a 2-D stencil with halo exchange, a distributed transpose).
Times are taken inside the programs with ``MPI_Wtime``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from faabric.bench.report import HIGHER, Report, counts, json_option, progress
from faabric.cluster import LocalCluster
from faabric.config import FunctionLimits, SystemConfig

SOURCE = Path(__file__).resolve().parents[2] / "mpi_shim" / "bench" / "mpi_bench.c"
SIZES = [8, 64, 512, 4096, 32768, 262144, 1 << 20, 8 << 20]
LATENCY_TARGET_RATIO = 5.0  # small messages: at most 5x native latency
BANDWIDTH_TARGET_RATIO = 0.5  # 1 MiB: at least half the native bandwidth
KERNEL_TARGET_RATIO = 1.3  # kernels: at most 1.3x native time


def parse_key_values(stdout: str) -> dict[str, float]:
    """The ``key value`` lines a benchmark kernel printed."""
    values = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = float(value)
        except ValueError:
            continue
    return values


def _native(binary: Path, ranks: int, args: list[str]) -> dict[str, float]:
    done = subprocess.run(
        ["mpirun", "-n", str(ranks), str(binary), *args], capture_output=True, text=True, timeout=600, check=True
    )
    return parse_key_values(done.stdout)


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """One world's values over repeated runs: the lowest time of each key; the most ``_errors``;
    a ``_checksum`` (the same every run of a correct program) from the first run that printed one."""
    merged: dict[str, float] = {}
    for values in runs:
        for key, value in values.items():
            if key not in merged:
                merged[key] = value
            elif key.endswith("_errors"):
                merged[key] = max(merged[key], value)
            elif not key.endswith("_checksum"):
                merged[key] = min(merged[key], value)
    return merged


async def _wasm_runs(wasm: Path, home: Path, runs: list[tuple[int, list[str]]]) -> list[dict[str, float]]:
    config = SystemConfig.from_env(home=home, limits=FunctionLimits(memory_bytes=1 << 30, time_seconds=600.0))
    async with LocalCluster(config=config) as cluster:
        await cluster.upload("bench", "mpi_bench", wasm)
        results = []
        for ranks, args in runs:
            result = await cluster.invoke("bench", "mpi_bench", cmdline=" ".join(args), mpi_world_size=ranks)
            results.append(parse_key_values(result.stdout.decode()))
        return results


def run_mpi(iterations: int, collective_iterations: int, ranks: list[int], stencil: tuple[int, int],
            transpose: tuple[int, int], kernel_ranks: list[int], repeats: int = 1) -> Report:
    from granules.toolchain import compile_wasm

    if shutil.which("mpicc") is None or shutil.which("mpirun") is None:
        raise click.ClickException("native MPICH is missing: sudo apt-get install mpich")
    report = Report("mpi", {
        "pingpong_iterations": iterations, "collective_iterations": collective_iterations,
        "ranks": ",".join(map(str, ranks)), "stencil": f"{stencil[0]}x{stencil[0]}, {stencil[1]} steps",
        "transpose": f"{transpose[0]}x{transpose[0]}, {transpose[1]} times", "repeats": repeats,
    })
    with tempfile.TemporaryDirectory(prefix="faabric-bench-mpi-") as scratch:
        directory = Path(scratch)
        progress("building the benchmark for wasm and natively")
        wasm = compile_wasm([SOURCE], directory / "mpi_bench.wasm")
        native = directory / "mpi_bench"
        subprocess.run(["mpicc", "-O2", "-o", str(native), str(SOURCE)], check=True, capture_output=True)

        runs: list[tuple[str, int, list[str]]] = [("pingpong", 2, ["pingpong", str(iterations)])]
        runs += [("collectives", n, ["collectives", str(collective_iterations)]) for n in ranks]
        runs += [("stencil", n, ["stencil", *map(str, stencil)]) for n in kernel_ranks]
        runs += [("transpose", n, ["transpose", *map(str, transpose)]) for n in kernel_ranks]
        progress(f"running {len(runs)} worlds on faabric, {repeats} time(s) each")
        worlds = [(n, args) for _, n, args in runs]
        ours_each = asyncio.run(_wasm_runs(wasm, directory / "home", worlds * repeats))
        ours = [best_of(ours_each[index::len(runs)]) for index in range(len(runs))]
        theirs = []
        for name, n, args in runs:
            progress(f"running {name} natively with {n} ranks, {repeats} time(s)")
            theirs.append(best_of([_native(native, n, args) for _ in range(repeats)]))

    for (name, n, _), mine, native_values in zip(runs, ours, theirs):
        if name == "pingpong":
            for size in SIZES:
                key = f"pingpong_{size}"
                latency, base = mine.get(key), native_values.get(key)
                report.add(f"latency_{size}B_us", f"ping-pong latency {_bytes(size)}", latency, "µs",
                           target=base * LATENCY_TARGET_RATIO if base and size == 8 else None,
                           anchor="MPICH", anchor_value=base)
            for size in (1 << 20, 8 << 20):
                key = f"pingpong_{size}"
                bandwidth = size / mine[key] if mine.get(key) else None
                base = size / native_values[key] if native_values.get(key) else None
                report.add(f"bandwidth_{size}B_MBps", f"bandwidth {_bytes(size)}", bandwidth, "MB/s", better=HIGHER,
                           target=base * BANDWIDTH_TARGET_RATIO if base and size == 1 << 20 else None,
                           anchor="MPICH", anchor_value=base)
        elif name == "collectives":
            for op in ("allreduce", "bcast", "alltoall"):
                report.add(f"{op}_{n}_us", f"{op} latency, {n} ranks", mine.get(op), "µs",
                           anchor="MPICH", anchor_value=native_values.get(op))
        else:
            base = native_values.get(name) / 1000 if native_values.get(name) else None
            value = mine[name] / 1000 if mine.get(name) else None
            report.add(f"{name}_{n}_ms", f"{name} kernel, {n} ranks", value, "ms",
                       target=base * KERNEL_TARGET_RATIO if base else None, anchor="MPICH", anchor_value=base)
            check = f"{name}_checksum" if name == "stencil" else f"{name}_errors"
            if mine.get(check) != native_values.get(check):
                report.note(
                    f"{name} at {n} ranks: result differs from native ({mine.get(check)} vs {native_values.get(check)})"
                )
    report.note("latency and kernels: lower is better; native MPICH busy-polls, so it slows down sharply "
                "once ranks outnumber cores, while waiting faabric ranks sleep")
    if repeats > 1:
        report.note(f"each world ran {repeats} times on each side, interleaved on faabric: "
                    "the best value of each row (a shared machine's load comes and goes)")
    return report


def _bytes(size: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size // scale} {unit}"
    return f"{size} B"


@click.command("mpi")
@json_option
@click.option("--iterations", default=1000, show_default=True, type=click.IntRange(10),
              help="Ping-pong round trips per size (fewer for 1 MiB and up).")
@click.option("--collective-iterations", default=200, show_default=True, type=click.IntRange(1))
@click.option("--ranks", default="2,4,8", show_default=True, help="World sizes for the collectives.")
@click.option("--kernel-ranks", default="2,4", show_default=True, help="World sizes for the kernels.")
@click.option("--stencil-size", default=1024, show_default=True, type=click.IntRange(8))
@click.option("--stencil-steps", default=100, show_default=True, type=click.IntRange(1))
@click.option("--transpose-size", default=1024, show_default=True, type=click.IntRange(8),
              help="Matrix order; must divide by every kernel world size.")
@click.option("--transpose-iterations", default=20, show_default=True, type=click.IntRange(1))
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1),
              help="Runs of each world on each side; each row shows the best.")
def mpi_command(json_output, iterations, collective_iterations, ranks, kernel_ranks, stencil_size, stencil_steps,
                transpose_size, transpose_iterations, repeats) -> None:
    """MPI ping-pong, collectives and kernels on faabric beside native MPICH, as ratios."""
    world_sizes = counts(ranks, "world sizes", "2,4,8")
    kernel_sizes = counts(kernel_ranks, "world sizes", "2,4")
    if any(transpose_size % n for n in kernel_sizes):
        raise click.BadParameter("must divide by every kernel world size", param_hint="--transpose-size")
    report = run_mpi(iterations, collective_iterations, world_sizes, (stencil_size, stencil_steps),
                     (transpose_size, transpose_iterations), kernel_sizes, repeats)
    report.emit(json_output)
