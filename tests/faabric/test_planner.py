"""The planner's scheduling and result store, driven directly (no threads, no wasm)."""

import asyncio

import pytest

from faabric.exceptions import CallTimeoutError, SchedulingError, UnknownCallError
from faabric.messages import IdGenerator, new_call
from faabric.planner.planner import HostLostError, Planner


class RecordingHost:
    """Collects what the planner hands it; the test finishes calls by hand."""

    def __init__(self) -> None:
        self.received = []

    def execute(self, messages):
        self.received.extend(messages)


def calls(n):
    ids = IdGenerator()
    return [new_call(ids, "demo", "f") for _ in range(n)]


def finish(planner, message, value=0):
    message.return_value, message.finish_ns = value, 1
    planner.set_result(message)


async def test_calls_beyond_free_slots_wait_and_start_as_slots_free_up():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 2, host)
    batch = calls(5)
    planner.submit(batch)
    assert host.received == batch[:2]
    finish(planner, batch[0])
    assert host.received == batch[:3]
    for message in batch[1:3]:
        finish(planner, message)
    assert host.received == batch
    assert planner.statistics().hosts["h"] == (2, 2)


async def test_slots_are_all_returned_after_every_call_finishes():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 3, host)
    batch = calls(10)
    planner.submit(batch)
    while len([m for m in host.received if not m.finish_ns]):
        finish(planner, next(m for m in host.received if not m.finish_ns))
    stats = planner.statistics()
    assert stats.hosts["h"] == (0, 3) and stats.queued == 0 and stats.running == 0


async def test_wait_result_returns_the_finished_message():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 1, host)
    (message,) = calls(1)
    planner.submit([message])
    waiter = asyncio.ensure_future(planner.wait_result(message.id, timeout=5))
    await asyncio.sleep(0)
    finish(planner, message, 7)
    assert (await waiter).return_value == 7


async def test_unknown_ids_and_timeouts_raise_typed_errors():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 1, host)
    with pytest.raises(UnknownCallError):
        await planner.wait_result(424242)
    (message,) = calls(1)
    planner.submit([message])
    with pytest.raises(CallTimeoutError):
        await planner.wait_result(message.id, timeout=0.01)


async def test_a_lost_host_fails_its_running_calls_naming_it():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 2, host)
    (message,) = calls(1)
    planner.submit([message])
    planner.remove_host("h", "stopped sending keep-alives")
    result = await planner.wait_result(message.id, timeout=1)
    assert result.error["kind"] == HostLostError.__name__
    assert "h" in result.error["message"]


async def test_wait_app_gathers_every_message_of_an_app():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 4, host)
    batch = calls(3)
    for message in batch:
        message.app_id = 99
    planner.submit(batch)
    waiter = asyncio.ensure_future(planner.wait_app(99, 3, timeout=5))
    for message in batch:
        finish(planner, message)
    assert {m.id for m in await waiter} == {m.id for m in batch}


def test_unknown_policies_are_rejected():
    with pytest.raises(SchedulingError, match="unknown policy"):
        Planner("round-robin")


async def test_pinned_calls_wait_for_their_host_and_never_go_elsewhere():
    planner, a, b = Planner(), RecordingHost(), RecordingHost()
    planner.register_host("a", 1, a)
    planner.register_host("b", 4, b)
    batch = calls(3)
    for message in batch:
        message.pin_host = "a"
    planner.submit(batch)
    assert a.received == batch[:1] and b.received == []
    finish(planner, batch[0])
    assert a.received == batch[:2] and b.received == []
    assert planner.statistics().queued == 1


async def test_calls_pinned_to_a_missing_or_lost_host_fail_naming_it():
    planner, a = Planner(), RecordingHost()
    planner.register_host("a", 1, a)
    ghost, waiting, running = calls(3)
    ghost.pin_host = "nowhere"
    running.pin_host = waiting.pin_host = "a"
    planner.submit([ghost, running, waiting])
    assert (await planner.wait_result(ghost.id, 1)).error["kind"] == "HostLostError"
    planner.remove_host("a", "gone")
    for message in (running, waiting):
        result = await planner.wait_result(message.id, 1)
        assert result.error["kind"] == "HostLostError" and "a" in result.error["message"]


async def test_calls_preferring_a_host_fill_it_first_then_go_where_the_policy_says():
    planner, small, big = Planner(), RecordingHost(), RecordingHost()
    planner.register_host("small", 2, small)
    planner.register_host("big", 8, big)  # bin-pack alone would send everything here
    batch = calls(5)
    for message in batch:
        message.prefer_host = "small"
    planner.submit(batch)
    assert small.received == batch[:2]
    assert big.received == batch[2:]
    assert planner.capacity() == 10


async def test_a_preferred_host_that_is_gone_or_full_is_only_a_preference():
    planner, host = Planner(), RecordingHost()
    planner.register_host("h", 1, host)
    first, second = calls(2)
    first.prefer_host, second.prefer_host = "gone", "h"
    planner.submit([first])
    planner.submit([second])  # h is full: it queues like any call, and starts when a slot frees
    assert host.received == [first]
    finish(planner, first)
    assert host.received == [first, second]
