"""State across worker processes with a real Redis as the global tier."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
import redis

import faabric
from faabric.client import connect
from faabric.testing.processes import process_cluster
from faabric.testing.redis import redis_server
from tests.conftest import wat
from tests.granules.wat_modules import ECHO, IO_IMPORTS

STATE_IMPORTS = IO_IMPORTS + """
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (import "env" "__faasm_push_state" (func $push_state (param i32)))
  (import "env" "__faasm_pull_state" (func $pull_state (param i32 i32)))
  (import "env" "__faasm_read_state" (func $read_state (param i32 i32 i32) (result i32)))
"""

# Writes its input as state "shared" and pushes it to the global tier.
WRITER = f"""(module {STATE_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 16) "shared\\00")
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 1024) (local.get $n)))
    (call $write_state (i32.const 16) (i32.const 1024) (local.get $n))
    (call $push_state (i32.const 16))))
"""

# Pulls state "shared" (its size from the input) and outputs it.
READER = f"""(module {STATE_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 16) "shared\\00")
  (func (export "_start") (local $n i32)
    (drop (call $read_input (i32.const 0) (i32.const 4)))
    (local.set $n (i32.load (i32.const 0)))
    (call $pull_state (i32.const 16) (local.get $n))
    (drop (call $read_state (i32.const 16) (i32.const 1024) (local.get $n)))
    (call $write_output (i32.const 1024) (local.get $n))))
"""


@pytest.fixture
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def processes(tmp_path, redis_url):
    with process_cluster(tmp_path, workers=2, slots=2, redis_url=redis_url) as running:
        yield running


async def test_a_value_pushed_on_one_host_is_pulled_on_every_host(processes):
    value = b"weights v1"
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "writer", wat(WRITER))
        await cluster.upload("demo", "reader", wat(READER))
        writer = await cluster.invoke("demo", "writer", value, timeout=30)
        readers = await cluster.invoke_batch(
            [faabric.Call("demo", "reader", len(value).to_bytes(4, "little"))] * 4, timeout=30
        )
    assert all(r.error is None and r.output == value for r in readers), readers
    assert {r.host for r in readers} == {w.host_id for w in processes.workers}
    assert any(r.host != writer.host for r in readers)


async def test_the_http_state_api_shares_the_global_tier_with_workers(processes):
    base = f"http://127.0.0.1:{processes.http_port}"
    put = urllib.request.Request(f"{base}/s/demo/shared", data=b"from http", method="PUT")
    with urllib.request.urlopen(put, timeout=10) as response:
        assert response.status == 200
    async with connect(processes.address) as cluster:
        await cluster.upload("demo", "reader", wat(READER))
        result = await cluster.invoke("demo", "reader", (9).to_bytes(4, "little"), timeout=30)
        assert result.output == b"from http"
        await cluster.upload("demo", "writer", wat(WRITER))
        await cluster.invoke("demo", "writer", b"from a worker", timeout=30)
    with urllib.request.urlopen(f"{base}/s/demo/shared", timeout=10) as response:
        assert response.read() == b"from a worker"


def test_redis_stopped_mid_run_gives_a_clear_error_and_the_cluster_keeps_serving(tmp_path):
    with redis_server() as url, process_cluster(tmp_path, workers=1, slots=2, redis_url=url) as processes:

        async def run(stop_redis) -> tuple:
            async with connect(processes.address) as cluster:
                await cluster.upload("demo", "writer", wat(WRITER))
                await cluster.upload("demo", "echo", wat(ECHO))
                assert (await cluster.invoke("demo", "writer", b"before", timeout=30)).error is None
                stop_redis()
                failed = await cluster.invoke("demo", "writer", b"after", timeout=60, raise_on_error=False)
                still = await cluster.invoke("demo", "echo", b"alive", timeout=30)
                return failed, still

        client = redis.Redis.from_url(url)
        failed, still = asyncio.run(run(lambda: client.shutdown(nosave=True)))
    assert isinstance(failed.error, faabric.StateBackendUnavailableError), failed.error
    assert "redis" in str(failed.error).lower()
    assert still.output == b"alive"

