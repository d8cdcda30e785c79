"""What MPI collectives exchange between hosts, as msgpack.

Contributions and results of collectives are bytes, numbers, tuples, lists
and dicts of those, numpy arrays (reductions), communicators (``MPI_Comm_*``
results) and Cartesian topologies. They pack with msgpack ext types; arrays
keep their dtype, including the structured pair types of MAXLOC/MINLOC.
Decoding never evaluates code: dtypes travel as literal descriptions.
"""

from __future__ import annotations

import ast
from typing import Any

import msgpack
import numpy as np

from faabric.exceptions import MalformedFrameError
from faabric.mpi.communicators import Communicator
from faabric.mpi.topology import CartTopology

_ARRAY, _COMMUNICATOR, _TOPOLOGY = 1, 2, 3


def _default(value: Any):
    if isinstance(value, np.ndarray):
        descr = repr(np.lib.format.dtype_to_descr(value.dtype))
        return msgpack.ExtType(_ARRAY, pack([descr, value.shape, np.ascontiguousarray(value).tobytes()]))
    if isinstance(value, np.generic):
        return _default(np.asarray(value))
    if isinstance(value, Communicator):
        return msgpack.ExtType(_COMMUNICATOR, pack([value.context, value.group, value.topology]))
    if isinstance(value, CartTopology):
        return msgpack.ExtType(_TOPOLOGY, pack([value.dims, value.periods]))
    if isinstance(value, memoryview):
        return bytes(value)
    raise TypeError(f"cannot send a {type(value).__name__} between hosts")


def _ext_hook(code: int, data: bytes):
    if code == _ARRAY:
        descr, shape, raw = unpack(data)
        dtype = np.lib.format.descr_to_dtype(ast.literal_eval(descr))
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if code == _COMMUNICATOR:
        context, group, topology = unpack(data)
        return Communicator(context, tuple(group), topology)
    if code == _TOPOLOGY:
        dims, periods = unpack(data)
        return CartTopology(tuple(dims), tuple(bool(p) for p in periods))
    raise MalformedFrameError(f"unknown MPI value type {code}")


def pack(value: Any) -> bytes:
    return msgpack.packb(value, default=_default, use_bin_type=True, strict_types=False)


def unpack(data) -> Any:
    """Decode what :func:`pack` produced (sequences come back as tuples).

    Raises:
        MalformedFrameError: the bytes are not such a value.
    """
    try:
        return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, use_list=False, strict_map_key=False)
    except MalformedFrameError:
        raise
    except (ValueError, TypeError, SyntaxError, msgpack.UnpackException, msgpack.ExtraData) as error:
        raise MalformedFrameError(f"malformed MPI value: {type(error).__name__}: {error}") from None
