"""OpenMP test programs and examples, compiled once per session, and a helper to run them."""

from __future__ import annotations

import concurrent.futures
import dataclasses
from pathlib import Path

import pytest

from faabric.cluster import LocalCluster
from granules.toolchain import compile_wasm

PROGRAMS = Path(__file__).resolve().parent / "programs"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "omp"
THREAD_COUNTS = (1, 2, 4, 8)


@pytest.fixture(scope="session")
def omp_wasm(tmp_path_factory) -> dict[str, Path]:
    """Every OpenMP test program and example, built with ``faabric cc -fopenmp``: name -> wasm."""
    out = tmp_path_factory.mktemp("omp-wasm")
    sources = {p.stem: p for p in PROGRAMS.glob("*.c")} | {f"example_{p.stem}": p for p in EXAMPLES.glob("*.c")}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        built = {name: pool.submit(compile_wasm, [src], out / f"{name}.wasm", ["-fopenmp"])
                 for name, src in sources.items()}
        return {name: future.result() for name, future in built.items()}


@pytest.fixture(params=["shared", "snapshot"])
def omp_mode(request) -> str:
    return request.param


@pytest.fixture
async def omp_cluster(config, omp_mode):
    """An embedded cluster whose OpenMP threads run in ``omp_mode``."""
    async with LocalCluster(config=dataclasses.replace(config, omp_mode=omp_mode)) as running:
        yield running


async def run_omp(cluster, wasm: Path, threads: int, args: str = "", raise_on_error: bool = True, **env: str):
    """Upload (once per cluster) and run ``wasm`` with ``OMP_NUM_THREADS=threads`` (and ``env``)."""
    name = wasm.stem
    if not cluster.functions.exists("omp", name):
        await cluster.upload("omp", name, wasm)
    env = {"OMP_NUM_THREADS": str(threads), **env}
    if cluster.config.omp_mode == "snapshot":
        env["OMP_TEST_SNAPSHOT"] = "1"
    return await cluster.invoke("omp", name, cmdline=args, env=env, raise_on_error=raise_on_error, timeout=60)
