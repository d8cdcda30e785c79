"""The OpenMP examples (examples/omp) give the right answers with 1, 2, 4 and 8 threads, in either mode."""

from __future__ import annotations

import math
import re

from tests.openmp_shim.conftest import THREAD_COUNTS, run_omp


def c_mod(a: int, b: int) -> int:
    return int(math.fmod(a, b))


def matmul_checksum(n: int) -> float:
    a = [[c_mod(i + 2 * j, 7) - 3 for j in range(n)] for i in range(n)]
    b = [[c_mod(3 * i - j, 5) + 1 for j in range(n)] for i in range(n)]
    row_sums_b = [sum(row) for row in b]
    return float(sum(a[i][k] * row_sums_b[k] for i in range(n) for k in range(n)))


def value(text: str, name: str) -> str:
    return re.search(rf"^{re.escape(name)}=(\S+)$", text, re.M).group(1)


async def run_each(cluster, wasm, args: str = ""):
    for threads in THREAD_COUNTS:
        result = await run_omp(cluster, wasm, threads, args)
        assert result.return_value == 0, result.stdout.decode()
        yield threads, result.stdout.decode()


async def test_hello_greets_from_every_thread(omp_cluster, omp_wasm):
    async for threads, text in run_each(omp_cluster, omp_wasm["example_hello"]):
        greetings = sorted(line for line in text.splitlines() if line.startswith("Hello"))
        assert greetings == sorted(f"Hello from thread {t} of {threads}" for t in range(threads))
        assert f"team of {threads}" in text


async def test_pi_by_reduction_is_pi(omp_cluster, omp_wasm):
    async for _, text in run_each(omp_cluster, omp_wasm["example_pi"], "200000"):
        assert abs(float(value(text, "pi")) - math.pi) < 1e-8


async def test_matrix_multiply_matches_python(omp_cluster, omp_wasm):
    expected = matmul_checksum(48)
    async for _, text in run_each(omp_cluster, omp_wasm["example_matmul"], "48"):
        assert float(value(text, "checksum")) == expected


async def test_stencil_matches_its_serial_run_bit_for_bit(omp_cluster, omp_wasm):
    sums = set()
    async for _, text in run_each(omp_cluster, omp_wasm["example_stencil"], "48 20 1"):
        sums.add(value(text, "sum"))
    assert len(sums) == 1  # and the program compared the grid with a serial run itself


async def test_task_parallel_fibonacci(omp_cluster, omp_wasm):
    async for _, text in run_each(omp_cluster, omp_wasm["example_fib"], "22"):
        assert "fib(22)=17711" in text
