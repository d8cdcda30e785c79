"""Moving calls between processes: msgpack frames over ZeroMQ.

The embedded runtime needs none of this: its planner and hosts call each
other's methods directly. :mod:`faabric.transport.zmq` is the only module
that imports ``zmq``; code above it speaks in method names and msgpack-able
payloads through :class:`~faabric.transport.zmq.RpcServer` and
:class:`~faabric.transport.zmq.RpcClient`.
"""
