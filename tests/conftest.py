"""Shared fixtures: an isolated FAABRIC_HOME and an embedded cluster on uvloop."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvloop
import wasmtime

from faabric.cluster import LocalCluster
from faabric.config import FunctionLimits, SystemConfig
from granules.toolchain import compile_wasm


def pytest_asyncio_loop_factories(config, item):
    """Run every async test on uvloop, as the runtime itself does."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
def config(tmp_path) -> SystemConfig:
    return SystemConfig.from_env(
        env={}, home=tmp_path / "home", limits=FunctionLimits(memory_bytes=64 << 20, time_seconds=5.0)
    )


@pytest.fixture
async def cluster(config):
    async with LocalCluster(config=config) as running:
        yield running


def wat(text: str) -> bytes:
    """Assemble a WAT module."""
    return wasmtime.wat2wasm(text)


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free loopback port for the whole session (fails if missing)."""
    from faabric.testing.redis import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(params=["in-memory", "redis"])
def state_backend(request) -> str | None:
    """The global state tier to test against: None (in memory) or a flushed, real Redis URL."""
    if request.param == "in-memory":
        return None
    import redis

    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


MPI_PROGRAMS = Path(__file__).resolve().parent / "mpi_shim" / "programs"
MPI_EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mpi"


@pytest.fixture(scope="session")
def mpi_wasm(tmp_path_factory):
    """Compile ``name`` (a test program or an example) to wasm once; return its path."""
    out = tmp_path_factory.mktemp("mpi-wasm")
    built: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in built:
            source = MPI_PROGRAMS / f"{name}.c"
            if not source.exists():
                source = MPI_EXAMPLES / f"{name}.c"
            flags = ["-fopenmp"] if "#include <omp.h>" in source.read_text() else []  # (hybrid MPI + OpenMP)
            built[name] = compile_wasm([source], out / f"{name}.wasm", flags)
        return built[name]

    return build
