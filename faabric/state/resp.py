"""Lean RESP2 round trips for the Redis tier: values move with no extra copy.

redis-py copies a value it sends (hiredis packs each command into one
``bytes``) and copies a reply on its way in (its read buffer, the parser's
buffer, the reply's ``bytes``); the Pipeline object around a round trip adds
tens of microseconds of Python. The state tier moves values between Redis
and memory files, so for them it speaks RESP itself on a connected socket
from redis-py's pool (which still connects, authenticates and selects the
database): a payload is sent straight from a memoryview of the file, with
the command around it in one gathering ``sendmsg``, and a bulk reply can be
received straight into one (a *sink*).

Failures are redis-py's own exceptions, so callers handle both paths alike:
``ConnectionError``/``TimeoutError`` leave the socket mid-reply (the caller
must drop the connection); error replies are read to the end and then the
first one is raised as ``ResponseError``, leaving the connection clean.
"""

from __future__ import annotations

import socket
import ssl
from typing import Callable, Sequence, Union

import redis

Arg = Union[bytes, bytearray, memoryview, str, int]
Sink = Callable[[int], memoryview]
"""Given a bulk reply's length, the writable buffer of exactly that length to receive it into."""

JOIN_LIMIT = 16 << 10
"""Payloads this long or longer are sent as they are rather than joined with the command."""
READ_SIZE = 16 << 10
MAX_IOV = 512
"""Pieces per ``sendmsg`` (Linux takes at most 1024 buffers)."""


def pack(commands: Sequence[Sequence[Arg]]) -> list[bytes | memoryview]:
    """The commands in RESP, as pieces to send in order; large payloads are not copied."""
    pieces: list[bytes | memoryview] = []
    small: list[bytes] = []
    for command in commands:
        small.append(b"*%d\r\n" % len(command))
        for arg in command:
            if isinstance(arg, str):
                arg = arg.encode()
            elif isinstance(arg, int):
                arg = b"%d" % arg
            small.append(b"$%d\r\n" % len(arg))
            if len(arg) >= JOIN_LIMIT:
                pieces.append(b"".join(small))
                pieces.append(arg)
                small = [b"\r\n"]
            else:
                small += (arg, b"\r\n")
    pieces.append(b"".join(small))
    return pieces


def round_trip(
    sock: socket.socket, commands: Sequence[Sequence[Arg]], sinks: Sequence[Sink | None] | None = None
) -> list:
    """Send ``commands`` in one go and read their replies.

    ``sinks[i]``, if given and not None, receives the bulk reply of command
    ``i``, whose reply is then its length. Other replies are ``bytes``
    (bulk or status), ``int`` or None (nil).
    """
    try:
        _send(sock, pack(commands))
        reader = _Reader(sock)
        replies = [reader.reply(sink) for _, sink in zip(commands, sinks or [None] * len(commands), strict=True)]
    except socket.timeout:
        raise redis.TimeoutError("timeout talking to Redis") from None
    except OSError as error:
        raise redis.ConnectionError(f"error talking to Redis: {error}") from None
    for reply in replies:
        if isinstance(reply, redis.ResponseError):
            raise reply
    return replies


def _send(sock: socket.socket, pieces: list[bytes | memoryview]) -> None:
    """Send the pieces in order: one gathering ``sendmsg`` per batch, then whatever it left."""
    if isinstance(sock, ssl.SSLSocket):  # TLS has no sendmsg
        for piece in pieces:
            sock.sendall(piece)
        return
    for first in range(0, len(pieces), MAX_IOV):
        batch = pieces[first : first + MAX_IOV]
        sent = sock.sendmsg(batch)
        for piece in batch:
            if sent < len(piece):
                with memoryview(piece) as view:
                    sock.sendall(view[sent:])
            sent = max(0, sent - len(piece))


class _Reader:
    """Replies from a socket, through a small buffer; sinks receive their payload directly."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray(READ_SIZE)
        self.view = memoryview(self.buffer)
        self.start = self.end = 0

    def reply(self, sink: Sink | None):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            return self._bulk(length, sink)
        if kind == b":":
            return int(rest)
        if kind == b"+":
            return rest
        if kind == b"-":
            return redis.ResponseError(rest.decode(errors="replace"))
        if kind == b"_":
            return None
        raise redis.ConnectionError(f"unexpected Redis reply {line[:40]!r}")

    def _bulk(self, length: int, sink: Sink | None) -> bytes | int:
        if sink is None:
            data = bytearray(length)
            self._receive(memoryview(data))
            reply = bytes(data)
        else:
            with sink(length) as out:
                if len(out) != length:
                    raise redis.DataError(f"a sink of {len(out)} bytes for a reply of {length}")
                self._receive(out)
            reply = length
        while self.end - self.start < 2:
            self._fill()
        self.start += 2  # the reply's CRLF
        return reply

    def _line(self) -> bytes:
        while (at := self.buffer.find(b"\r\n", self.start, self.end)) < 0:
            self._fill()
        line = bytes(self.view[self.start : at])
        self.start = at + 2
        return line

    def _receive(self, out: memoryview) -> None:
        """Fill ``out``: first from the buffer, then straight from the socket."""
        buffered = min(len(out), self.end - self.start)
        out[:buffered] = self.view[self.start : self.start + buffered]
        self.start += buffered
        filled = buffered
        while filled < len(out):
            filled += self._recv_into(out[filled:])

    def _fill(self) -> None:
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buffer):
            if self.start == 0:
                raise redis.ConnectionError(f"Redis reply line longer than {READ_SIZE} bytes")
            self.buffer[: self.end - self.start] = bytes(self.view[self.start : self.end])  # may overlap
            self.start, self.end = 0, self.end - self.start
        self.end += self._recv_into(self.view[self.end :])

    def _recv_into(self, out: memoryview) -> int:
        received = self.sock.recv_into(out)
        if received == 0:
            raise redis.ConnectionError("Redis closed the connection")
        return received
