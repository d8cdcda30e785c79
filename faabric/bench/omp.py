"""``faabric bench omp``: the OpenMP examples' kernels in granules beside native OpenMP.

The same sources (``examples/omp``: pi, matmul, stencil, fib; and
``openmp_shim/bench/regions.c``, which times nearly empty parallel regions:
the cost of a fork and join) are built twice in the same run: to wasm with
``faabric cc -fopenmp`` (clang -O2 -msimd128) and natively with
``clang -O2 -fopenmp`` (Debian's libomp; gcc's
libgomp if clang cannot, which the notes then say). Each program times its
own kernel with ``omp_get_wtime`` after a warm-up region, so the numbers
compare kernels, not process or granule start-up. Rows: the best of
``--repeats`` runs per thread count, the ratio of wasm time to native time,
and the speed-up from 1 to 2 threads. The notes give the host's load
average before and after: on a busy host, 2-thread numbers mean little.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from faabric.bench.report import HIGHER, Report, counts, json_option, progress
from faabric.config import FunctionLimits, SystemConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "omp"
FORK_JOIN = Path(__file__).resolve().parents[2] / "openmp_shim" / "bench" / "regions.c"
TARGET_VS_NATIVE = 1.3
TARGET_SPEEDUP = 1.8
# The speed-up target is for compute-bound kernels. stencil is memory-bound (native gains about 1.4x
# from a second thread): its row shows native's speed-up beside it, without the target. So does fib:
# its tasks are fine-grained (a few µs each), and native OpenMP gains little from a second thread either.
COMPUTE_BOUND = ("pi", "matmul")


@dataclasses.dataclass(frozen=True)
class Kernel:
    name: str
    args: tuple[str, ...]
    source: Path | None = None  # (default: examples/omp/<name>.c)
    regions: int = 0  # the fork/join kernel: its rows give µs per region over this many, without targets

    @property
    def path(self) -> Path:
        return self.source or EXAMPLES / f"{self.name}.c"


def _kernel_time(stdout: str, what: str) -> float:
    found = re.search(r"^time=([0-9.eE+-]+)$", stdout, re.M)
    if found is None:
        raise click.ClickException(f"{what} printed no time=: {stdout[-300:]!r}")
    return float(found.group(1)) * 1000


def _build_native(source: Path, out: Path) -> tuple[Path, str] | None:
    """``source`` built natively at -O2 with OpenMP: the binary and the compiler that built it."""
    for compiler in ("clang", "gcc"):
        if shutil.which(compiler) is None:
            continue
        result = subprocess.run([compiler, "-O2", "-fopenmp", str(source), "-o", str(out), "-lm"],
                                capture_output=True, text=True)
        if result.returncode == 0:
            return out, compiler
    return None


def _load_note(when: str) -> str:
    one, five, _ = os.getloadavg()
    return f"host load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _run_native(binary: Path, kernel: Kernel, threads: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    result = subprocess.run([str(binary), *kernel.args], capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        raise click.ClickException(f"native {kernel.name} failed: {result.stdout}{result.stderr}")
    return _kernel_time(result.stdout, f"native {kernel.name}")


async def _run_wasm(kernels: list[Kernel], wasm: dict[str, Path], threads: list[int], repeats: int,
                    home: Path, mode: str) -> dict[tuple[str, int], float]:
    from faabric.cluster import LocalCluster

    config = SystemConfig.from_env(env={}, home=home, omp_mode=mode,
                                   limits=FunctionLimits(memory_bytes=1 << 30, time_seconds=600))
    times: dict[tuple[str, int], float] = {}
    async with LocalCluster(config=config) as cluster:
        for kernel in kernels:
            await cluster.upload("bench", kernel.name, wasm[kernel.name])
            for count in threads:
                best = None
                for _ in range(repeats):
                    result = await cluster.invoke("bench", kernel.name, cmdline=" ".join(kernel.args),
                                                  env={"OMP_NUM_THREADS": str(count)}, raise_on_error=False)
                    if result.error is not None or result.return_value != 0:
                        raise click.ClickException(f"wasm {kernel.name} failed: {result.error or result.stdout!r}")
                    elapsed = _kernel_time(result.stdout.decode(), f"wasm {kernel.name}")
                    best = elapsed if best is None else min(best, elapsed)
                times[kernel.name, count] = best
                progress(f"wasm {kernel.name} {count} thread(s): {best:.2f} ms")
    return times


def run(kernels: list[Kernel], threads: list[int], repeats: int, mode: str) -> Report:
    from granules.toolchain import compile_wasm

    report = Report("omp", {"threads": ",".join(map(str, threads)), "repeats": repeats, "mode": mode,
                            **{k.name: " ".join(k.args) for k in kernels}})
    report.note(_load_note("before"))
    with tempfile.TemporaryDirectory(prefix="faabric-bench-omp-") as tmp:
        work = Path(tmp)
        wasm, native = {}, {}
        for kernel in kernels:
            progress(f"building {kernel.name}")
            wasm[kernel.name] = compile_wasm([kernel.path], work / f"{kernel.name}.wasm", ["-fopenmp"])
            native[kernel.name] = _build_native(kernel.path, work / f"{kernel.name}-native")
        wasm_ms = asyncio.run(_run_wasm(kernels, wasm, threads, repeats, work / "home", mode))
        native_ms: dict[tuple[str, int], float] = {}
        for kernel in kernels:
            if native[kernel.name] is None:
                continue
            for count in threads:
                native_ms[kernel.name, count] = min(
                    _run_native(native[kernel.name][0], kernel, count) for _ in range(repeats))
    report.note(_load_note("after"))
    compilers = sorted({built[1] for built in native.values() if built is not None})
    if not compilers:
        report.note("no native OpenMP compiler (clang -fopenmp with libomp, or gcc -fopenmp): no native rows")
    else:
        report.note(f"native built with {', '.join(compilers)} -O2 -fopenmp"
                    + ("" if compilers == ["clang"] else " (not only clang, the wasm side's compiler)"))
    for kernel in kernels:
        name = kernel.name
        if kernel.regions:
            _add_fork_join_rows(report, kernel, threads, wasm_ms, native_ms)
            continue
        for count in threads:
            base = native_ms.get((name, count))
            report.add(f"{name}_wasm_{count}t_ms", f"{name}: wasm, {count} thread(s)", wasm_ms[name, count], "ms",
                       anchor="native" if base else None, anchor_value=base)
            if base:
                report.add(f"{name}_native_{count}t_ms", f"{name}: native, {count} thread(s)", base, "ms")
                report.add(f"{name}_vs_native_{count}t", f"{name}: wasm / native, {count} thread(s)",
                           wasm_ms[name, count] / base, "x", target=TARGET_VS_NATIVE)
        if 1 in threads and 2 in threads:
            native_speedup = None
            if (name, 1) in native_ms and (name, 2) in native_ms:
                native_speedup = native_ms[name, 1] / native_ms[name, 2]
            report.add(f"{name}_speedup_1_2", f"{name}: speed-up 1 -> 2 threads", wasm_ms[name, 1] / wasm_ms[name, 2],
                       "x", target=TARGET_SPEEDUP if name in COMPUTE_BOUND else None, better=HIGHER,
                       anchor="native" if native_speedup else None, anchor_value=native_speedup)
    report.note("kernel times from omp_get_wtime inside each program, best of the repeats; wasm in granules "
                f"({mode} memory), native built from the same source")
    return report


def _add_fork_join_rows(report: Report, kernel: Kernel, threads: list[int], wasm_ms: dict, native_ms: dict) -> None:
    per_region = 1000 / kernel.regions  # ms in all -> µs per region
    for count in threads:
        base = native_ms.get((kernel.name, count))
        report.add(f"fork_join_wasm_{count}t_us", f"fork/join of a region: wasm, {count} thread(s)",
                   wasm_ms[kernel.name, count] * per_region, "µs", anchor="native" if base else None,
                   anchor_value=base * per_region if base else None)


@click.command("omp")
@json_option
@click.option("--threads", "threads_text", default="1,2", show_default=True, help="Thread counts to compare.")
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1))
@click.option("--pi-steps", default=40_000_000, show_default=True, type=click.IntRange(1))
@click.option("--matmul-n", default=384, show_default=True, type=click.IntRange(1))
@click.option("--stencil-n", default=768, show_default=True, type=click.IntRange(3))
@click.option("--stencil-iterations", default=60, show_default=True, type=click.IntRange(1))
@click.option("--fib-n", default=27, show_default=True, type=click.IntRange(1))
@click.option("--regions", default=20_000, show_default=True, type=click.IntRange(1),
              help="Nearly empty parallel regions timed for the fork/join rows.")
@click.option("--mode", type=click.Choice(["shared", "snapshot"]), default="shared", show_default=True,
              help="How the granules' OpenMP threads share memory.")
def omp_command(json_output, threads_text, repeats, pi_steps, matmul_n, stencil_n, stencil_iterations, fib_n,
                regions, mode) -> None:
    """OpenMP kernels in granules vs the same sources built natively."""
    kernels = [
        Kernel("pi", (str(pi_steps),)),
        Kernel("matmul", (str(matmul_n), "0")),
        Kernel("stencil", (str(stencil_n), str(stencil_iterations), "0")),
        Kernel("fib", (str(fib_n),)),
        Kernel("regions", (str(regions),), source=FORK_JOIN, regions=regions),
    ]
    run(kernels, counts(threads_text, "thread counts", "1,2"), repeats, mode).emit(json_output)
