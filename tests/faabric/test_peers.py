"""Peer channels between hosts: real ZeroMQ sockets on loopback, and the in-process switchboard."""

from __future__ import annotations

import pytest

from faabric.transport.peers import Switchboard
from faabric.transport.zmq_peers import ZmqPeers


@pytest.fixture(params=["zmq", "in-process"])
def pair(request):
    if request.param == "zmq":
        channels = ZmqPeers("127.0.0.1"), ZmqPeers("127.0.0.1")
    else:
        switchboard = Switchboard()
        channels = switchboard.channel(), switchboard.channel()
    yield channels
    for channel in channels:
        channel.close()


def receive(inbox, count: int) -> list:
    got: list = []
    for _ in range(200):
        got += inbox.wait(0.05)
        if len(got) >= count:
            break
    return got


def test_posts_reach_an_inbox_in_order_and_rings_wake_it_without_a_message(pair):
    sender, owner = pair
    inbox = owner.inbox()
    for number in range(100):
        sender.post(inbox.address, [b"n%d" % number])
    sender.post(inbox.address, [b"head", b"x" * 100_000])
    got = receive(inbox, 101)
    assert [bytes(m[0]) for m in got[:100]] == [b"n%d" % n for n in range(100)]
    assert bytes(got[100][0]) == b"head" and bytes(got[100][1]) == b"x" * 100_000
    inbox.ring()
    assert inbox.wait(1.0) == []  # woken, with nothing to take
    inbox.close()


def test_forgetting_an_address_still_delivers_what_was_already_sent(pair):
    sender, owner = pair
    inbox = owner.inbox()
    body = b"x" * (256 << 10)
    for number in range(200):  # 50 MiB: most of it still queued when the sender forgets the address
        sender.post(inbox.address, [b"%d" % number, body])
    sender.forget(inbox.address)  # e.g. the sender's ranks finished right after their last sends
    got = receive(inbox, 200)
    assert [bytes(m[0]) for m in got] == [b"%d" % n for n in range(200)]
    inbox.close()


def test_channel_messages_reach_the_handler_of_their_topic(pair):
    import threading

    sender, owner = pair
    seen: list = []
    done = threading.Event()
    owner.on(b"t", lambda parts: (seen.append([bytes(p) for p in parts]), done.set()))
    sender.send(owner.address, b"nope", [b"dropped"])
    sender.send(owner.address, b"t", [b"a", b"b"])
    assert done.wait(5)
    assert seen == [[b"a", b"b"]]
