"""The Python async state API on the embedded cluster, over both global tiers."""

from __future__ import annotations

import asyncio

import pytest

from faabric.cluster import LocalCluster
from faabric.exceptions import ConfigError, StateKeyError


@pytest.fixture
async def cluster2(config, backend):
    async with LocalCluster(hosts=2, config=config, redis_url=backend) as running:
        yield running


async def test_get_set_and_offsets_work_on_one_hosts_local_tier(cluster2):
    state = cluster2.state("alice")
    await state.set("k", b"hello world")
    assert await state.get("k") == b"hello world"
    assert await state.size("k") == 11
    await state.set_offset("k", 11, 6, b"WORLD")
    assert await state.get_offset("k", 11, 0, 11) == b"hello WORLD"
    await state.delete("k")
    with pytest.raises(StateKeyError):
        await state.get("k")


async def test_push_on_one_host_and_pull_on_another(cluster2):
    here, there = cluster2.state("alice", host=0), cluster2.state("alice", host=1)
    await here.set("k", b"v1")
    with pytest.raises(StateKeyError):
        await there.get("k")
    await here.push("k")
    assert await there.get("k") == b"v1"
    await here.set("k", b"v2")
    await here.push_partial("k")
    assert await there.get("k") == b"v1", "the other host keeps its copy until it pulls"
    await there.pull("k")
    assert await there.get("k") == b"v2"


async def test_appends_are_global(cluster2):
    here, there = cluster2.state("alice", host=0), cluster2.state("alice", host=1)
    await here.append("log", b"a")
    await there.append("log", b"b")
    assert await here.get_appended("log", 2) == [b"a", b"b"]
    await there.clear_appended("log")
    assert await here.get_appended("log", 0) == []


async def test_write_locks_serialise_updates_from_both_hosts(cluster2):
    hosts = [cluster2.state("alice", host=0), cluster2.state("alice", host=1)]
    await hosts[0].set("n", (0).to_bytes(4, "little"))
    await hosts[0].push("n")

    async def bump(state, times):
        for _ in range(times):
            async with state.write_lock("n"):
                await state.pull("n")
                value = int.from_bytes(await state.get("n"), "little")
                await state.set("n", (value + 1).to_bytes(4, "little"))
                await state.push("n")

    await asyncio.gather(*(bump(state, 10) for state in hosts * 2))
    await hosts[1].pull("n")
    assert int.from_bytes(await hosts[1].get("n"), "little") == 40
    async with hosts[0].read_lock("n"):
        assert await hosts[0].size("n") == 4


async def test_a_bad_user_name_is_rejected(cluster2):
    with pytest.raises(ConfigError):
        cluster2.state("../bob")
