"""MPI error classes (MPICH's numbering) and the one way pure MPI code fails."""

from __future__ import annotations

import enum

from faabric.exceptions import MpiError


class ErrorClass(enum.IntEnum):
    SUCCESS = 0
    ERR_BUFFER = 1
    ERR_COUNT = 2
    ERR_TYPE = 3
    ERR_TAG = 4
    ERR_COMM = 5
    ERR_RANK = 6
    ERR_ROOT = 7
    ERR_GROUP = 8
    ERR_OP = 9
    ERR_TOPOLOGY = 10
    ERR_DIMS = 11
    ERR_ARG = 12
    ERR_UNKNOWN = 13
    ERR_TRUNCATE = 14
    ERR_OTHER = 15
    ERR_INTERN = 16
    ERR_IN_STATUS = 17
    ERR_PENDING = 18
    ERR_REQUEST = 19
    ERR_NO_MEM = 34
    ERR_LASTCODE = 0x3FFFFFFF

    @property
    def mpi_name(self) -> str:
        return "MPI_" + self.name


def fail(error_class: ErrorClass, detail: str) -> MpiError:
    """An :class:`MpiError` to raise; the shim adds the function and rank."""
    return MpiError(int(error_class), error_class.mpi_name, detail)
