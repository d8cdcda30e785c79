"""Reduction operations on numpy arrays, element by element.

``combine(op, a, b)`` returns ``a op b`` where ``a`` comes from the lower
rank (MPI's ``invec``) and ``b`` from the higher (``inoutvec``). Each op
applies only to the element kinds MPI allows; any other pairing is an
``MPI_ERR_OP`` error, never a silent wrong answer.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from faabric.mpi import datatypes as dt
from faabric.mpi.errors import ErrorClass, fail

_ARITHMETIC = {dt.INTEGER, dt.FLOATING, dt.COMPLEX}
_ORDERED = {dt.INTEGER, dt.FLOATING}
_LOGICAL = {dt.INTEGER, dt.LOGICAL}
_BITWISE = {dt.INTEGER, dt.BYTE, dt.LOGICAL}


def _logical(fn):
    def apply(a, b):
        return fn(a != 0, b != 0).astype(a.dtype)

    return apply


def _loc(pick_first: Callable):
    def apply(a, b):
        out = b.copy()
        take_a = pick_first(a["value"], b["value"]) | ((a["value"] == b["value"]) & (a["index"] < b["index"]))
        out[take_a] = a[take_a]
        return out

    return apply


# op name -> (element kinds it applies to, function of two arrays)
OPS: dict[str, tuple[set[str], Callable]] = {
    "MAX": (_ORDERED, np.maximum),
    "MIN": (_ORDERED, np.minimum),
    "SUM": (_ARITHMETIC, np.add),
    "PROD": (_ARITHMETIC, np.multiply),
    "LAND": (_LOGICAL, _logical(np.logical_and)),
    "LOR": (_LOGICAL, _logical(np.logical_or)),
    "LXOR": (_LOGICAL, _logical(np.logical_xor)),
    "BAND": (_BITWISE, np.bitwise_and),
    "BOR": (_BITWISE, np.bitwise_or),
    "BXOR": (_BITWISE, np.bitwise_xor),
    "MAXLOC": ({dt.PAIR}, _loc(np.greater)),
    "MINLOC": ({dt.PAIR}, _loc(np.less)),
    "REPLACE": (_ARITHMETIC | _BITWISE | {dt.PAIR}, lambda a, b: a.copy()),
}


def check(op: str, datatype: dt.Datatype) -> None:
    """Raise ``MPI_ERR_OP`` unless ``op`` applies to ``datatype``'s elements."""
    kinds, _ = OPS[op]
    if datatype.element is None or datatype.kind not in kinds:
        raise fail(ErrorClass.ERR_OP, f"MPI_{op} does not apply to datatype {datatype.name}")


def as_array(data: bytes, datatype: dt.Datatype) -> np.ndarray:
    """Packed bytes as an array of ``datatype``'s basic element."""
    return np.frombuffer(data, dtype=datatype.element)


def combine(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return OPS[op][1](a, b)


def fold(contributions: Sequence[np.ndarray], combine_two: Callable) -> np.ndarray:
    """``c0 op c1 op ... op cN-1``, in rank order, as a new array."""
    result = contributions[0].copy()
    for item in contributions[1:]:
        result = combine_two(result, item)
    return result


def prefixes(contributions: Sequence[np.ndarray], combine_two) -> list[np.ndarray]:
    """Inclusive prefix reductions: ``[c0, c0 op c1, ...]``."""
    out = [contributions[0].copy()]
    for item in contributions[1:]:
        out.append(combine_two(out[-1], item))
    return out
