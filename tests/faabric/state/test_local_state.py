"""The local tier over both global tiers: values, chunks, push/pull, appends, locks, bad input."""

from __future__ import annotations

import threading

import pytest

from faabric.exceptions import InvalidStateKeyError, StateKeyError, StateRangeError, StateValueError
from faabric.state import CHUNK_SIZE, StateKey
from faabric.state.keys import MAX_KEY_BYTES

K = StateKey("alice", "weights")


def chunks(*fills: int) -> bytes:
    return b"".join(bytes([fill]) * CHUNK_SIZE for fill in fills)


def test_a_written_value_reads_back_with_its_size(two_hosts):
    host, _ = two_hosts
    host.write(K, b"hello state")
    assert host.read(K) == b"hello state"
    assert host.size(K) == 11
    assert host.read_range(K, 11, 6, 5) == b"state"


def test_reading_a_key_no_tier_has_is_a_key_error(two_hosts):
    host, _ = two_hosts
    with pytest.raises(StateKeyError, match="no such key"):
        host.read(K)
    assert host.size(K) == 0


def test_a_pushed_value_is_fetched_lazily_by_another_host(two_hosts):
    a, b = two_hosts
    a.write(K, b"x" * 1000)
    assert b.size(K) == 0
    a.push(K)
    assert b.read(K) == b"x" * 1000


def test_push_sends_nothing_unless_the_value_is_dirty(two_hosts):
    a, b = two_hosts
    a.write(K, b"first")
    a.push(K)
    b.write(K, b"other")
    b.push(K)
    a.push(K)  # clean since its last push: must not overwrite b's value
    assert a.global_tier.get(K.name) == b"other"


def test_partial_push_sends_only_the_dirty_chunks(two_hosts):
    a, b = two_hosts
    a.write(K, chunks(1, 1, 1))
    a.push(K)
    b.pull(K)
    b.write_range(K, 3 * CHUNK_SIZE, 0, chunks(7))  # b changes chunk 0 and pushes it
    b.push_partial(K)
    a.write_range(K, 3 * CHUNK_SIZE, 2 * CHUNK_SIZE, chunks(9))  # a changes chunk 2 only
    a.push_partial(K)
    assert a.global_tier.get(K.name) == chunks(7, 1, 9), "a's stale chunk 0 was sent"


@pytest.mark.parametrize("global_fills", [(5,), (5, 5, 5, 5)])
@pytest.mark.parametrize("dirty_chunk", [0, 2])  # a piece before the end, and one that reaches it
def test_a_partial_push_replaces_the_whole_value_if_the_global_one_has_another_size(
    two_hosts, global_fills, dirty_chunk
):
    a, _ = two_hosts
    a.write(K, chunks(1, 2, 3))
    a.push(K)
    a.global_tier.set(K.name, chunks(*global_fills))  # another host wrote another size
    a.flag_dirty(K, 3 * CHUNK_SIZE, dirty_chunk * CHUNK_SIZE, 1)
    a.push_partial(K)
    assert a.global_tier.get(K.name) == chunks(1, 2, 3)


def test_partial_push_with_a_mask_sends_the_chunks_the_mask_marks(two_hosts):
    a, _ = two_hosts
    a.write(K, chunks(1, 1))
    a.push(K)
    a.write(K, chunks(5, 6))
    mask = StateKey("alice", "mask")
    a.write(mask, bytes(CHUNK_SIZE) + b"\1" + bytes(CHUNK_SIZE - 1))
    a.push_partial(K, mask)
    assert a.global_tier.get(K.name) == chunks(1, 6)


def test_an_offset_read_fetches_only_the_chunks_it_touches(two_hosts):
    a, b = two_hosts
    a.write(K, chunks(1, 2))
    a.push(K)
    assert b.read_range(K, 2 * CHUNK_SIZE, CHUNK_SIZE, 4) == b"\2" * 4  # b now holds chunk 1 only
    a.write(K, chunks(3, 4))
    a.push(K)
    assert b.read_range(K, 2 * CHUNK_SIZE, 0, 4) == b"\3" * 4, "chunk 0 is fetched when first needed"
    assert b.read_range(K, 2 * CHUNK_SIZE, CHUNK_SIZE, 4) == b"\2" * 4, "chunk 1 stays as first fetched"
    b.pull(K)
    assert b.read(K) == chunks(3, 4)


def test_pull_of_a_key_the_global_tier_lacks_is_a_key_error(two_hosts):
    a, _ = two_hosts
    a.write(K, b"local only")
    with pytest.raises(StateKeyError):
        a.pull(K)
    assert a.read(K) == b"local only"


def test_an_offset_write_creates_and_grows_a_value(two_hosts):
    a, _ = two_hosts
    a.write_range(K, 8, 4, b"abcd")
    assert a.read(K) == bytes(4) + b"abcd"
    a.write_range(K, 12, 8, b"efgh")
    assert a.read(K) == bytes(4) + b"abcdefgh"


def test_a_value_that_shrinks_then_grows_reads_zeros_in_the_new_part(two_hosts):
    a, _ = two_hosts
    a.write(K, b"\xff" * 100)
    a.write(K, b"\x01" * 10)
    a.write_range(K, 100, 10, b"")
    assert a.read(K) == b"\x01" * 10 + bytes(90)


def test_appended_elements_read_back_in_order_and_clear(two_hosts):
    a, b = two_hosts
    k = StateKey("alice", "log")
    a.append(k, b"one")
    b.append(k, b"two")
    assert a.appended(k, 2) == [b"one", b"two"]
    with pytest.raises(StateRangeError, match="there are 2"):
        a.appended(k, 3)
    b.clear_appended(k)
    assert a.appended(k, 0) == []
    with pytest.raises(StateRangeError):
        a.appended(k, 1)


def test_users_never_see_each_others_keys(two_hosts):
    a, _ = two_hosts
    a.write(StateKey("alice", "k"), b"alice's")
    a.push(StateKey("alice", "k"))
    for user, key in [("bob", "k"), ("bob", "../alice/k"), ("alice:k", ""), ("bob", "alice:k"), ("bob", "alice%3Ak")]:
        if key:
            with pytest.raises(StateKeyError):
                a.read(StateKey(user, key))
    names = {StateKey(u, k).name for u, k in [("a", "b:c"), ("a:b", "c"), ("a", "b%3Ac"), ("a", "b/c"), ("a/b", "c")]}
    assert len(names) == 5


def test_bad_ranges_are_range_errors_and_change_nothing(two_hosts):
    a, _ = two_hosts
    a.write(K, b"0123456789")
    for total, offset, length in [(10, -1, 2), (10, 0, -2), (-1, 0, 1), (10, 8, 5), (20, 8, 5)]:
        with pytest.raises(StateRangeError):
            a.read_range(K, total, offset, length)
    with pytest.raises(StateRangeError):
        a.write_range(K, 10, -4, b"xx")
    with pytest.raises(StateRangeError):
        a.write_range(K, 10, 9, b"xx")
    assert a.read(K) == b"0123456789"


def test_empty_and_overlong_keys_are_rejected():
    with pytest.raises(InvalidStateKeyError, match="empty"):
        StateKey.checked("alice", "")
    with pytest.raises(InvalidStateKeyError, match="longer than"):
        StateKey.checked("alice", "k" * (MAX_KEY_BYTES + 1))
    assert StateKey.checked("alice", "k" * MAX_KEY_BYTES).key


def test_the_write_lock_holds_across_hosts(two_hosts):
    a, b = two_hosts
    a.lock_write(K)
    assert not b.try_lock_write(K, 0.05)
    assert not a.try_lock_read(K, 0.01), "a writer excludes local readers"
    a.unlock_write(K)
    assert b.try_lock_write(K, 1.0)
    b.unlock_write(K)


def test_read_locks_are_shared_and_exclude_writers_on_their_host(two_hosts):
    a, _ = two_hosts
    a.lock_read(K)
    a.lock_read(K)
    assert not a.try_lock_write(K, 0.02)
    a.unlock_read(K)
    a.unlock_read(K)
    assert a.try_lock_write(K, 0.5)
    a.unlock_write(K)


def test_unlocking_a_lock_nobody_holds_is_an_error(two_hosts):
    a, _ = two_hosts
    with pytest.raises(StateValueError, match="not held"):
        a.unlock_write(K)
    with pytest.raises(StateValueError, match="not held"):
        a.unlock_read(K)


def test_threads_on_two_hosts_lose_no_update_under_the_write_lock(two_hosts):
    a, b = two_hosts
    a.write(K, (0).to_bytes(4, "little"))
    a.push(K)

    def increment(host, times):
        for _ in range(times):
            host.lock_write(K)
            host.pull(K)
            value = int.from_bytes(host.read(K), "little")
            host.write(K, (value + 1).to_bytes(4, "little"))
            host.push(K)
            host.unlock_write(K)

    threads = [threading.Thread(target=increment, args=(host, 25)) for host in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    b.pull(K)
    assert int.from_bytes(b.read(K), "little") == 100


def test_pointer_style_sharing_copies_no_bytes(two_hosts):
    a, _ = two_hosts
    before = a.bytes_copied
    fd, size = a.region(K, 4096, 0, 4096)  # created zero-filled: nothing copied
    assert size == 4096 and fd >= 0
    assert a.bytes_copied == before


def test_a_deleted_value_is_gone_from_both_tiers(two_hosts):
    a, b = two_hosts
    a.write(K, b"doomed")
    a.push(K)
    a.delete(K)
    with pytest.raises(StateKeyError):
        a.read(K)
    with pytest.raises(StateKeyError):
        b.read(K)


def test_a_host_holds_at_most_max_values_keys(two_hosts):
    a, _ = two_hosts
    a.max_values = 3
    for name in ("k1", "k2", "k3"):
        a.write(StateKey("alice", name), b"x")
    with pytest.raises(StateValueError, match="limit"):
        a.write(StateKey("alice", "k4"), b"x")
    a.delete(StateKey("alice", "k1"))
    a.write(StateKey("alice", "k4"), b"x")


def test_releasing_a_write_lock_that_expired_meanwhile_is_an_error(two_hosts):
    a, b = two_hosts
    a.lock_ttl = 0.05
    a.lock_write(K)
    assert b.try_lock_write(K, 5.0), "the expired lock was not taken over"
    with pytest.raises(StateValueError, match="expired"):
        a.unlock_write(K)
    b.unlock_write(K)
    assert a.try_lock_write(K, 0.5)
    a.unlock_write(K)


def test_large_values_push_pull_and_partial_push_intact(two_hosts):
    a, b = two_hosts
    size = 8 << 20  # more than a socket buffer holds at once
    data = bytes(range(256)) * (size // 256)
    a.write(K, data)
    a.push(K)
    b.pull(K)
    assert b.read(K) == data
    b.write_range(K, size, 3 * CHUNK_SIZE - 2, b"\xff" * (CHUNK_SIZE + 4))  # chunks 2, 3 and 4: one run
    b.write_range(K, size, size - 1, b"\xee")  # the last chunk
    b.push_partial(K)
    a.pull(K)
    assert a.read(K) == b.read(K)


def test_a_partial_load_fetches_runs_of_missing_chunks(two_hosts):
    a, b = two_hosts
    a.write(K, chunks(1, 2, 3, 4, 5))
    a.push(K)
    assert b.read_range(K, 5 * CHUNK_SIZE, 2 * CHUNK_SIZE, 1) == b"\3"
    assert b.read_range(K, 5 * CHUNK_SIZE, 0, 5 * CHUNK_SIZE) == chunks(1, 2, 3, 4, 5)
    assert b.read_range(K, 5 * CHUNK_SIZE, 5 * CHUNK_SIZE - 1, 1) == b"\5", "the last, short run ends with the value"


def test_pull_takes_the_global_size_in_place(two_hosts):
    a, b = two_hosts
    a.write(K, chunks(1, 2))
    a.push(K)
    b.pull(K)
    fd, _ = b.region(K, 2 * CHUNK_SIZE, 0, 2 * CHUNK_SIZE)
    a.write(K, b"\7" * 10)
    a.push(K)
    b.pull(K)
    assert b.size(K) == 10 and b.read(K) == b"\7" * 10
    assert b.region(K, 10, 0, 10)[0] == fd, "pulled into the same file"
