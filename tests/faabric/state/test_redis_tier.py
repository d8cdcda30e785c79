"""Redis specifics: lock tokens, an unreachable server, lean round trips, and the Python API against it."""

from __future__ import annotations

import pytest

from faabric.cluster import LocalCluster
from faabric.exceptions import StateBackendUnavailableError, StateRangeError
from faabric.state import resp
from faabric.state.redis_tier import RedisGlobalTier, redacted
from faabric.testing.ports import free_port


def test_a_lock_is_released_only_by_its_token(redis_url):
    tier = RedisGlobalTier(redis_url)
    try:
        token = tier.lock("alice:k", ttl=5, timeout=1)
        assert token
        assert not tier.unlock("alice:k", "someone-else")
        assert tier.lock("alice:k", ttl=5, timeout=0.05) is None
        assert tier.unlock("alice:k", token)
        assert tier.lock("alice:k", ttl=5, timeout=0.05)
    finally:
        tier.close()


def test_a_lock_whose_holder_vanished_expires(redis_url):
    tier = RedisGlobalTier(redis_url)
    try:
        assert tier.lock("alice:expiring", ttl=0.05, timeout=1)
        assert tier.lock("alice:expiring", ttl=5, timeout=2), "the expired lock was not taken over"
    finally:
        tier.close()


@pytest.mark.timeout(60)
def test_an_unreachable_redis_is_a_clear_error_not_a_hang():
    tier = RedisGlobalTier(f"redis://:secret@127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StateBackendUnavailableError, match="unavailable") as raised:
            tier.get("alice:k")
        assert "secret" not in str(raised.value)
        with pytest.raises(StateBackendUnavailableError):
            tier.set("alice:k", b"x")
    finally:
        tier.close()


async def test_a_cluster_with_an_unreachable_redis_fails_to_start(config):
    with pytest.raises(StateBackendUnavailableError, match="redis"):
        async with LocalCluster(config=config, redis_url=f"redis://127.0.0.1:{free_port()}/0"):
            pass


def test_passwords_are_redacted_from_urls():
    assert redacted("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"
    assert redacted("redis://host:1/0") == "redis://host:1/0"


def test_the_write_lock_excludes_hosts_with_their_own_redis_clients(redis_url):
    import threading

    from faabric.state import LocalState, StateKey

    key = StateKey("alice", "shared-counter")
    hosts = [LocalState(RedisGlobalTier(redis_url)) for _ in range(3)]
    hosts[0].write(key, bytes(4))
    hosts[0].push(key)

    def increment(host):
        for _ in range(20):
            host.lock_write(key)
            try:
                host.pull(key)
                value = int.from_bytes(host.read(key), "little") + 1
                host.write(key, value.to_bytes(4, "little"))
                host.push(key)
            finally:
                host.unlock_write(key)

    threads = [threading.Thread(target=increment, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hosts[1].pull(key)
    assert int.from_bytes(hosts[1].read(key), "little") == 60
    for host in hosts:
        host.close()


def test_values_are_received_straight_into_the_callers_buffer(redis_url):
    tier = RedisGlobalTier(redis_url)
    try:
        data = bytes(range(256)) * (5 << 12)
        tier.set("alice:big", memoryview(data))
        target = bytearray(len(data) + 10)
        sizes = []

        def receive_into(size):
            sizes.append(size)
            return memoryview(target)[:size]

        assert tier.get_into("alice:big", receive_into) == len(data)
        assert sizes == [len(data)] and target[: len(data)] == data
        assert tier.get_into("alice:missing", receive_into) is None
        ranges = bytearray(len(data))
        tier.get_ranges_into("alice:big", [(0, 3), (len(data) - 2, 10)], memoryview(ranges))
        assert ranges[:3] == data[:3] and ranges[-2:] == data[-2:], "a range past the end is cut short"
    finally:
        tier.close()


def test_an_error_reply_leaves_the_tier_usable(redis_url):
    tier = RedisGlobalTier(redis_url)
    try:
        tier.append("alice:list", b"x")  # a list where a value is expected: WRONGTYPE
        tier.client.rename("faabric:append:alice:list", "faabric:state:alice:list")
        with pytest.raises(StateBackendUnavailableError, match="WRONGTYPE"):
            tier.get("alice:list")
        tier.set("alice:k", b"fine")
        assert tier.get("alice:k") == b"fine" and tier.size("alice:k") == 4
    finally:
        tier.close()


def test_a_failing_receiver_drops_its_connection_mid_reply(redis_url):
    tier = RedisGlobalTier(redis_url)
    try:
        tier.set("alice:k", bytes(100_000))

        def refuse(size):
            raise StateRangeError("alice", "k", 0, size, 0, "too big")

        with pytest.raises(StateRangeError):
            tier.get_into("alice:k", refuse)
        assert tier.get("alice:k") == bytes(100_000), "the half-read reply was not taken for the next one"
    finally:
        tier.close()


def test_pack_sends_large_payloads_without_copying_them():
    payload = memoryview(bytes(resp.JOIN_LIMIT))
    pieces = resp.pack([("SET", "k", payload), ("STRLEN", "k")])
    assert pieces[1] is payload
    assert b"".join(bytes(piece) for piece in pieces) == (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % len(payload) + bytes(payload)
        + b"\r\n*2\r\n$6\r\nSTRLEN\r\n$1\r\nk\r\n"
    )
