"""``faabric bench startup``: compile, cache load, snapshot restore, memory and density.

Everything runs in a temporary FAABRIC_HOME. The guests are WAT (so the
benchmark always runs), plus a small C program when the wasm32-wasi
toolchain is installed, so the compile row is realistic.

Phases run in the order that keeps them honest: memory per granule first
(before the latency loops have filled the allocator with freed memory that
new granules would reuse unseen), then density, then the latency loops,
then compilation.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import click
import wasmtime

from faabric.bench.report import HIGHER, Report, json_option, percentile, progress
from faabric.config import SystemConfig
from faabric.exceptions import FaabricError
from faabric.function_store import FunctionStore
from faabric.messages import IdGenerator, new_call

USER = "bench"
ADDRESS_SPACE = 1 << 47  # x86-64 / aarch64 user address space (128 TiB)
PAGE = os.sysconf("SC_PAGE_SIZE")

NOOP_WAT = '(module (memory (export "memory") 1) (func (export "_start")))'

# Anchors (BRIEF "Anchors' numbers"), and this project's targets.
FAASM_PROTO_RESTORE_US = 500.0
FAASM_PROTO_IDLE_KB = 90.0
FAASM_PROTO_PER_HOST = 100_000
TARGET_RESTORE_P50_US = 100.0
TARGET_IDLE_KB = 90.0


def zygote_wat(pages: int) -> str:
    """A no-op function whose zygote writes every 4 KiB page of ``pages`` wasm pages.

    Its snapshot is then ``pages * 64 KiB`` of non-zero data and two mutable
    globals, so restoring it exercises the copy-on-write mapping for real.
    """
    return f"""(module
  (memory (export "memory") {pages})
  (global $calls (mut i32) (i32.const 0))
  (global $seed (mut i64) (i64.const 0))
  (func (export "_faasm_zygote") (result i32) (local $a i32)
    (loop $touch
      (i32.store (local.get $a) (i32.xor (local.get $a) (i32.const 0x5a5a5a5a)))
      (local.set $a (i32.add (local.get $a) (i32.const 4096)))
      (br_if $touch (i32.lt_u (local.get $a) (i32.const {pages * 65536}))))
    (global.set $seed (i64.const 42))
    (i32.const 0))
  (func (export "_start")
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))))
"""


# A small but ordinary C program (libc, qsort, printf), for a realistic compile.
C_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

typedef struct { char word[32]; int count; } entry;

static entry table[1024];
static int used;

static const char *text =
    "the quick brown fox jumps over the lazy dog and the dog sleeps while "
    "the fox runs through the forest where the trees are tall and the air is cold";

static unsigned hash(const char *s) {
    unsigned h = 2166136261u;
    while (*s) { h ^= (unsigned char)*s++; h *= 16777619u; }
    return h;
}

static void add(const char *word) {
    unsigned i = hash(word) & 1023;
    while (table[i].count && strcmp(table[i].word, word) != 0) i = (i + 1) & 1023;
    if (!table[i].count) { strncpy(table[i].word, word, 31); used++; }
    table[i].count++;
}

static int by_count(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->word, y->word);
}

int main(int argc, char **argv) {
    char word[32];
    int n = 0;
    for (const char *p = text;; p++) {
        if (*p && isalpha((unsigned char)*p)) {
            if (n < 31) word[n++] = (char)tolower((unsigned char)*p);
        } else if (n) {
            word[n] = 0; add(word); n = 0;
        }
        if (!*p) break;
    }
    entry *sorted = malloc(sizeof(entry) * (size_t)used);
    int k = 0;
    for (int i = 0; i < 1024; i++) if (table[i].count) sorted[k++] = table[i];
    qsort(sorted, (size_t)k, sizeof(entry), by_count);
    for (int i = 0; i < k && i < 5; i++) printf("%-10s %d\n", sorted[i].word, sorted[i].count);
    printf("%d distinct words, %d arguments\n", k, argc);
    free(sorted);
    return 0;
}
"""


# Helpers -------------------------------------------------------------------------


def _statm() -> tuple[int, int]:
    """(virtual size, resident set) of this process, in bytes."""
    with open("/proc/self/statm") as f:
        size, resident = f.read().split()[:2]
    return int(size) * PAGE, int(resident) * PAGE


def _count_lines(path: str) -> int:
    with open(path) as f:
        return sum(1 for _ in f)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _malloc_trim() -> None:
    """Give freed heap back to the OS, so an RSS delta counts new memory only."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


def _time_us(make, iterations: int, warmup: int) -> list[float]:
    """Sorted durations (µs) of ``make()``; each result is dropped outside the timed part."""
    for _ in range(warmup):
        make()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        item = make()
        samples.append((clock() - start) / 1e3)
        del item
    samples.sort()
    return samples


def _build_c_program(workdir: Path) -> tuple[bytes | None, float | None, str]:
    """The C program as wasm, clang's wall time (ms), and what happened."""
    try:
        from granules.toolchain import compile_wasm
    except ImportError:
        return None, None, "n/a (no toolchain)"
    source = workdir / "wordcount.c"
    source.write_text(C_SOURCE)
    start = time.perf_counter()
    try:
        output = compile_wasm([source], workdir / "wordcount.wasm")
    except (FaabricError, OSError) as error:
        progress(f"no C toolchain, compile row skipped: {str(error).splitlines()[0]}")
        return None, None, "n/a (no toolchain)"
    return Path(output).read_bytes(), (time.perf_counter() - start) * 1e3, ""


# Phases ----------------------------------------------------------------------------


def _measure_compile(wasm: bytes, root: Path, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Engine start, first compile (empty cache) and disk-cache load times, in ms."""
    from granules.engine import WasmEngine

    starts, compiles, loads = [], [], []
    for number in range(repeats):
        cache = root / f"compile-{number}"
        begin = time.perf_counter()
        engine = WasmEngine(cache)
        starts.append((time.perf_counter() - begin) * 1e3)
        try:
            if engine.is_cached(wasm):
                raise RuntimeError("compile benchmark found a warm cache")
            begin = time.perf_counter()
            engine.module(wasm)
            compiles.append((time.perf_counter() - begin) * 1e3)
        finally:
            engine.close()
        fresh = WasmEngine(cache)  # a new process's engine: empty in-memory cache, warm disk cache
        try:
            if not fresh.is_cached(wasm):
                raise RuntimeError("module did not reach the disk cache")
            begin = time.perf_counter()
            fresh.module(wasm)
            loads.append((time.perf_counter() - begin) * 1e3)
        finally:
            fresh.close()
    return starts, compiles, loads


def run_startup(
    iterations: int, granules: int, max_granules: int, snapshot_mib: int, compile_repeats: int
) -> Report:
    from granules.engine import WasmEngine
    from granules.granule import Granule
    from granules.runtime import WasmRuntime

    report = Report(
        "startup",
        {
            "iterations": iterations,
            "granules": granules,
            "max_granules": max_granules,
            "snapshot_mib": snapshot_mib,
            "compile_repeats": compile_repeats,
        },
    )
    with tempfile.TemporaryDirectory(prefix="faabric-bench-") as tmp:
        home = Path(tmp) / "home"
        config = SystemConfig.from_env(home=home)
        engine = WasmEngine(config.cache_dir)
        try:
            functions = FunctionStore(config.functions_dir)
            functions.save(USER, "zygote", wasmtime.wat2wasm(zygote_wat(snapshot_mib * 16)))
            runtime = WasmRuntime(engine, functions, config)
            ids = IdGenerator()
            proto = runtime.prepare(USER, "zygote")
            snapshot = proto.snapshot

            def bare_granule():
                return Granule(proto, proto.limits, wasmtime.WasiConfig(), snapshot)

            def runtime_granule():
                return runtime.new_granule(new_call(ids, USER, "zygote"))

            for _ in range(20):
                runtime_granule()
                bare_granule()

            rss = _measure_idle_memory(runtime_granule, granules)
            density = _measure_density(bare_granule, max_granules)

            progress(f"restore from a {snapshot.size >> 20} MiB snapshot, {iterations} times")
            warmup = min(200, max(10, iterations // 10))
            bare = _time_us(bare_granule, iterations, warmup)
            full = _time_us(runtime_granule, iterations, warmup)
            module = proto.module

            def raw_instance():
                store = wasmtime.Store(engine.engine)
                return store, wasmtime.Instance(store, module, [])

            raw = _time_us(raw_instance, iterations, warmup)
        finally:
            runtime = proto = snapshot = None
            gc.collect()
            engine.close()

        progress(f"compile and cache load, {compile_repeats} times each")
        c_wasm, clang_ms, c_note = _build_c_program(Path(tmp))
        wat_wasm = wasmtime.wat2wasm(zygote_wat(snapshot_mib * 16))
        _, wat_compile, wat_load = _measure_compile(wat_wasm, Path(tmp) / "wat", compile_repeats)
        if c_wasm is not None:
            starts, c_compile, c_load = _measure_compile(c_wasm, Path(tmp) / "c", compile_repeats)
        else:
            starts, _, _ = _measure_compile(wasmtime.wat2wasm(NOOP_WAT), Path(tmp) / "noop", 1)
            c_compile = c_load = None

    # The table -----------------------------------------------------------------
    median = statistics.median
    if c_wasm is not None:
        report.add("clang_ms", "clang build of the C program (wasm32-wasi -O2)", clang_ms, "ms")
        report.add(
            "compile_ms", f"compile C program ({len(c_wasm) / 1024:.0f} KiB wasm), empty cache", median(c_compile), "ms"
        )
        report.add("cache_load_ms", "load C program from disk cache (new engine)", median(c_load), "ms")
    else:
        report.add("clang_ms", "clang build of the C program", None, "ms", note=c_note)
        report.add("compile_ms", "compile C program, empty cache", None, "ms", note=c_note)
        report.add("cache_load_ms", "load C program from disk cache", None, "ms", note=c_note)
    report.add("compile_wat_ms", "compile WAT zygote module, empty cache", median(wat_compile), "ms")
    report.add("cache_load_wat_ms", "load WAT zygote module from disk cache", median(wat_load), "ms")
    report.add("engine_start_ms", "engine start (Engine, Linker, WASI, host functions)", median(starts), "ms")

    anchor = "Faasm Proto-Faaslet"
    report.add(
        "restore_p50_us", f"restore granule from {snapshot_mib} MiB snapshot, p50", percentile(bare, 50), "µs",
        target=TARGET_RESTORE_P50_US, anchor=anchor, anchor_value=FAASM_PROTO_RESTORE_US,
    )
    report.add(
        "restore_p99_us", "restore granule, p99", percentile(bare, 99), "µs",
        anchor=anchor, anchor_value=FAASM_PROTO_RESTORE_US,
    )
    report.add(
        "restore_runtime_p50_us", "restore incl. WASI setup (runtime.new_granule), p50", percentile(full, 50), "µs",
        target=TARGET_RESTORE_P50_US, anchor=anchor, anchor_value=FAASM_PROTO_RESTORE_US,
    )
    report.add("restore_runtime_p99_us", "restore incl. WASI setup, p99", percentile(full, 99), "µs",
               anchor=anchor, anchor_value=FAASM_PROTO_RESTORE_US)
    report.add("raw_instance_p50_us", "baseline: raw wasmtime Store+Instance, no snapshot, p50",
               percentile(raw, 50), "µs")
    report.add("restore_vs_raw", "restore p50 / raw Store+Instance p50",
               percentile(bare, 50) / percentile(raw, 50), "x")

    report.add(
        "idle_rss_kb", f"RSS per idle granule ({rss['count']:,} held)", rss["rss_kb"], "KB",
        target=TARGET_IDLE_KB, anchor=anchor, anchor_value=FAASM_PROTO_IDLE_KB,
    )
    report.add("idle_virtual_gib", "virtual address space per granule", rss["virtual_gib"], "GiB")
    report.add("idle_maps", "memory mappings per granule", rss["maps"], "maps")
    report.add("idle_fds", "open file descriptors per runtime granule", rss["fds"], "fds")
    report.add(
        "max_granules", "idle granules held by one process", density["count"], "granules",
        better=HIGHER, anchor="Faasm Proto-Faaslets/host",
        # A run stopped by the cap says nothing about the ratio, only one stopped by a failure does.
        anchor_value=None if density["capped"] else FAASM_PROTO_PER_HOST,
        note=density["stopped"],
    )
    report.add("max_granules_fill_s", "time to create them", density["fill_s"], "s")
    report.add(
        "address_space_limit_est", "granules until the address space runs out (estimate)",
        int(ADDRESS_SPACE / (rss["virtual_gib"] * (1 << 30))) if rss["virtual_gib"] else None, "granules",
    )
    limits = []
    if rss["fds"] >= 0.5:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        limits.append(f"RLIMIT_NOFILE={nofile} (1 fd per runtime granule: its WASI preopen)")
    max_maps = _read_int("/proc/sys/vm/max_map_count")
    if max_maps and rss["maps"]:
        limits.append(f"vm.max_map_count={max_maps} (~{int(max_maps / rss['maps']):,} granules)")
    if limits:
        report.note("other per-process limits on runtime granules: " + "; ".join(limits))
    if rss["count"] < granules:
        report.note(f"RSS measured over {rss['count']} granules, not {granules}: fewer file descriptors are allowed")
    return report


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _measure_idle_memory(make, count: int) -> dict:
    """RSS, virtual size, mappings and fds per idle granule, over ``count`` held at once."""
    soft_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_nofile != resource.RLIM_INFINITY:
        count = max(1, min(count, soft_nofile - _open_fds() - 256))
    progress(f"RSS of {count:,} idle granules")
    _malloc_trim()
    virtual0, rss0 = _statm()
    maps0, fds0 = _count_lines("/proc/self/maps"), _open_fds()
    held = []
    gc.disable()
    try:
        for _ in range(count):
            held.append(make())
        virtual1, rss1 = _statm()
        maps1, fds1 = _count_lines("/proc/self/maps"), _open_fds()
    finally:
        gc.enable()
        held.clear()
        _malloc_trim()
    return {
        "count": count,
        "rss_kb": (rss1 - rss0) / count / 1024,
        "virtual_gib": (virtual1 - virtual0) / count / (1 << 30),
        "maps": (maps1 - maps0) / count,
        "fds": (fds1 - fds0) / count,
    }


def _measure_density(make, cap: int) -> dict:
    """Create idle granules until ``cap`` or the first failure; release them all after."""
    progress(f"idle granules per process, up to {cap:,}")
    held = []
    stopped = f"stopped at the --max-granules cap ({cap:,})"
    begin = time.perf_counter()
    gc.disable()
    try:
        while len(held) < cap:
            try:
                held.append(make())
            except (FaabricError, MemoryError, wasmtime.WasmtimeError, OSError) as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                stopped = f"creation failed: {type(error).__name__}: {reason}"[:160]
                break
        count = len(held)
        fill = time.perf_counter() - begin
    finally:
        held.clear()
        gc.enable()
        _malloc_trim()
    return {"count": count, "fill_s": fill, "stopped": stopped, "capped": count >= cap}


@click.command("startup")
@json_option
@click.option("--iterations", default=2000, show_default=True, type=click.IntRange(1),
              help="Restores timed for the p50/p99 rows.")
@click.option("--granules", default=2000, show_default=True, type=click.IntRange(1),
              help="Idle granules held at once to measure RSS per granule.")
@click.option("--max-granules", default=20000, show_default=True, type=click.IntRange(1),
              help="Cap of the how-many-granules-fit run.")
@click.option("--snapshot-mib", default=2, show_default=True, type=click.IntRange(1, 1024),
              help="Size of the zygote snapshot restored copy-on-write.")
@click.option("--compile-repeats", default=3, show_default=True, type=click.IntRange(1),
              help="Compiles (each with an empty cache) and cache loads to take the median of.")
def startup_command(json_output, iterations, granules, max_granules, snapshot_mib, compile_repeats) -> None:
    """Compile, cache-load and snapshot-restore times; memory and granules per process."""
    report = run_startup(iterations, granules, max_granules, snapshot_mib, compile_repeats)
    report.emit(json_output)
