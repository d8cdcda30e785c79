"""MPI test fixtures: native MPICH builds, and running programs as worlds (``mpi_wasm`` is in tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from faabric.config import FunctionLimits, SystemConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "mpi"


@pytest.fixture(scope="session")
def native_mpi(tmp_path_factory):
    """Build an example with Debian's mpicc and run it under mpirun; return its stdout."""
    out = tmp_path_factory.mktemp("mpi-native")

    def run(name: str, ranks: int, *args: str) -> str:
        binary = out / name
        if not binary.exists():
            subprocess.run(["mpicc", "-O2", "-o", str(binary), str(EXAMPLES / f"{name}.c"), "-lm"], check=True)
        done = subprocess.run(
            ["mpirun", "-n", str(ranks), str(binary), *args], capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout

    return run


@pytest.fixture
def config(tmp_path) -> SystemConfig:
    return SystemConfig.from_env(
        env={},
        home=tmp_path / "home",
        limits=FunctionLimits(memory_bytes=64 << 20, time_seconds=30.0),
        mpi_timeout=30.0,
    )


async def run_world(cluster, wasm: Path, ranks: int, *args: str, raise_on_error: bool = False):
    """Upload ``wasm`` and run it as an MPI world of ``ranks`` ranks."""
    await cluster.upload("mpi", wasm.stem, wasm)
    return await cluster.invoke(
        "mpi", wasm.stem, cmdline=" ".join(args), mpi_world_size=ranks, raise_on_error=raise_on_error
    )
