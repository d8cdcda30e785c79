"""``faabric run`` of OpenMP sources (threads from --omp-threads or OMP_NUM_THREADS) and ``faabric bench omp``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "omp"


def faabric(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    environ.update(FAABRIC_HOME=str(tmp_path / "home"), **env)
    return subprocess.run([sys.executable, "-m", "faabric", *args], env=environ, capture_output=True, text=True,
                          timeout=300)


def test_run_takes_the_thread_count_from_omp_threads(tmp_path):
    done = faabric(tmp_path, "run", "--omp-threads", "3", str(EXAMPLES / "hello.c"))
    assert done.returncode == 0, done.stderr
    assert "team of 3" in done.stdout
    assert sorted(line for line in done.stdout.splitlines() if line.startswith("Hello")) == [
        f"Hello from thread {t} of 3" for t in range(3)]


def test_run_takes_the_thread_count_from_the_callers_omp_num_threads(tmp_path):
    done = faabric(tmp_path, "run", str(EXAMPLES / "hello.c"), OMP_NUM_THREADS="5")
    assert done.returncode == 0, done.stderr
    assert "team of 5" in done.stdout


def test_bench_omp_compares_every_kernel_with_native_and_ends_with_json(tmp_path):
    done = faabric(tmp_path, "bench", "omp", "--json", "--repeats", "1", "--pi-steps", "20000", "--matmul-n", "16",
                   "--stencil-n", "16", "--stencil-iterations", "2", "--fib-n", "13", "--regions", "500")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    metrics = report["metrics"]
    for kernel in ("pi", "matmul", "stencil", "fib"):
        for key in (f"{kernel}_wasm_1t_ms", f"{kernel}_wasm_2t_ms", f"{kernel}_native_1t_ms",
                    f"{kernel}_vs_native_1t", f"{kernel}_vs_native_2t", f"{kernel}_speedup_1_2"):
            assert metrics[key] > 0, key
    rows = {row["key"]: row for row in report["rows"]}
    for threads in (1, 2):  # fork/join cost per region, beside native's, without a target
        row = rows[f"fork_join_wasm_{threads}t_us"]
        assert row["value"] > 0 and row["anchor_value"] > 0 and row.get("target") is None
    assert report["params"]["regions"] == "500"
    assert rows["pi_speedup_1_2"]["verdict"] in ("meets", "misses")
    assert rows["matmul_vs_native_1t"]["target"] == 1.3
    assert rows["matmul_speedup_1_2"]["target"] == 1.8
    assert rows["stencil_speedup_1_2"].get("target") is None  # memory-bound: shown beside native's speed-up
    assert any(note.startswith("native built with clang") for note in report["notes"])
    assert any(note.startswith("host load average before") for note in report["notes"])


def test_cc_fopenmp_compiles_objects_and_links_the_guest_runtime(tmp_path):
    source = EXAMPLES / "pi.c"
    obj = faabric(tmp_path, "cc", "-fopenmp", "-c", str(source), "-o", str(tmp_path / "pi.o"))
    assert obj.returncode == 0, obj.stderr
    linked = faabric(tmp_path, "cc", "-fopenmp", str(tmp_path / "pi.o"), "-o", str(tmp_path / "pi.wasm"))
    assert linked.returncode == 0, linked.stderr
    import wasmtime

    module = wasmtime.Module(wasmtime.Engine(), (tmp_path / "pi.wasm").read_bytes())
    imports = {item.name for item in module.imports}
    assert "__faabric_omp_fork_call" in imports and "__faabric_omp_sbrk" in imports  # (the guest half forks first)
    assert "__faabric_omp_write" in {item.name for item in module.exports}
