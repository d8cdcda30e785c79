"""The main demo: C functions compiled to wasm, run as isolated granules.

Run it with ``make demo`` (or ``python -m examples.demo``). It compiles the C
examples beside this file, uploads them to an embedded runtime (planner and
host in this process; no servers), and shows I/O, fan-out by name, chaining
by function pointer, a zygote snapshot, an MPI world, OpenMP threads, how
fast granules start, and an MPI world spanning two hosts.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import faabric
from faabric.config import SystemConfig
from granules.toolchain import compile_wasm

EXAMPLES = Path(__file__).parent
FUNCTIONS = ["hello", "echo", "square", "fanout", "chain_ptr", "zygote"]


PARALLEL = {"mpi_pi": ("mpi/pi.c", []), "mpi_ring": ("mpi/ring.c", []), "omp_pi": ("omp/pi.c", ["-fopenmp"])}


def build(out_dir: Path) -> dict[str, Path]:
    """Compile every example to ``out_dir``; return name -> wasm path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {name: compile_wasm([EXAMPLES / f"{name}.c"], out_dir / f"{name}.wasm") for name in FUNCTIONS}
    for name, (source, flags) in PARALLEL.items():
        built[name] = compile_wasm([EXAMPLES / source], out_dir / f"{name}.wasm", flags)
    return built


def show(title: str, result: faabric.CallResult) -> None:
    print(f"\n== {title}  [host {result.host}, {result.run_ms:.2f} ms]")
    for line in result.stdout.decode(errors="replace").splitlines():
        print(f"   stdout | {line}")
    print(f"   output | {result.output.decode(errors='replace')!r}   return value {result.return_value}")


async def run(config: SystemConfig | None = None) -> dict[str, faabric.CallResult]:
    """Run the whole demo; return the results (the tests check them)."""
    config = config or SystemConfig.from_env()
    wasm = build(config.cache_dir / "examples")
    results: dict[str, faabric.CallResult] = {}
    async with faabric.LocalCluster(config=config) as cluster:
        for name, path in wasm.items():
            await cluster.upload("demo", name, path)

        results["hello"] = await cluster.invoke("demo", "hello")
        show("hello: a C function in its own granule", results["hello"])

        results["echo"] = await cluster.invoke("demo", "echo", b"input goes in, output comes out")
        show("echo: input and output through the Faasm host interface", results["echo"])

        results["fanout"] = await cluster.invoke("demo", "fanout", b"64")
        show("fanout: 64 chained calls of 'square', in parallel, then fan-in", results["fanout"])

        results["chain_ptr"] = await cluster.invoke("demo", "chain_ptr")
        show("chain_ptr: chaining a function pointer of the same module", results["chain_ptr"])

        results["zygote"] = await cluster.invoke("demo", "zygote", b"65521")
        show("zygote: a 64 KiB sieve built once, in the Proto-Faaslet snapshot", results["zygote"])

        results["mpi_pi"] = await cluster.invoke("demo", "mpi_pi", cmdline="2000000", mpi_world_size=4)
        show("MPI: pi over a world of 4 ranks (mpi.h, MPI_Reduce), rank 0's view", results["mpi_pi"])
        print(f"   ranks  | ran on {len(results['mpi_pi'].ranks)} granules")

        results["omp_pi"] = await cluster.invoke("demo", "omp_pi", cmdline="20000000", env={"OMP_NUM_THREADS": "2"})
        show("OpenMP: pi with a parallel for reduction on 2 threads sharing memory", results["omp_pi"])

        await start_up_figures(cluster)

    # Two hosts of two slots, linked in-process as workers are over ZeroMQ: a world of 4 spans both.
    async with faabric.LocalCluster(hosts=2, config=dataclasses.replace(config, slots=2)) as pair:
        await pair.upload("demo", "mpi_ring", wasm["mpi_ring"])
        results["mpi_ring"] = await pair.invoke("demo", "mpi_ring", mpi_world_size=4)
        show("MPI across hosts: a token round a ring of 4 ranks on 2 hosts", results["mpi_ring"])
        hosts = sorted({rank.host for rank in results["mpi_ring"].ranks})
        print(f"   ranks  | {', '.join(f'rank {r}: {rank.host}' for r, rank in enumerate(results['mpi_ring'].ranks))}")
        print(f"   hosts  | {len(hosts)}")
    return results


async def start_up_figures(cluster: faabric.LocalCluster) -> None:
    """Time granule starts from the snapshot, and a burst of calls."""
    runtime = cluster.hosts[0].executor
    message = faabric.messages.Message(id=1, app_id=1, user="demo", function="zygote")
    starts = []
    for _ in range(300):
        began = time.perf_counter()
        runtime.new_granule(message)  # a fresh Store and instance, snapshot mapped copy-on-write
        starts.append(time.perf_counter() - began)
    print(f"\n== Granule start from the snapshot: median {statistics.median(starts) * 1e6:.0f} µs "
          "(Faasm's Proto-Faaslets: ~500 µs)")

    calls = 2000
    began = time.perf_counter()
    batch = await cluster.invoke_batch(faabric.Call("demo", "echo", b"x") for _ in range(calls))
    elapsed = time.perf_counter() - began
    assert all(r.output == b"x" for r in batch)
    print(f"== {calls} echo calls through the planner: {calls / elapsed:,.0f} calls/s")


def main() -> None:
    import uvloop

    uvloop.run(run())


if __name__ == "__main__":
    main()
