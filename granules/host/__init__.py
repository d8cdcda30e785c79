"""The Faasm host interface, one module per area.

Each area exposes ``register(host_functions)``; :func:`register_all` is the
one ordered list of areas linked into every granule.
"""

from __future__ import annotations

from granules.host import chaining, io, state
from mpi_shim import host as mpi
from openmp_shim import host as openmp


def register_all(host_functions) -> None:
    """Define every area's host functions on the engine's linker."""
    for area in (io, chaining, state, mpi, openmp):
        area.register(host_functions)
