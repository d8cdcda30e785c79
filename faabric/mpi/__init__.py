"""MPI world logic, independent of WebAssembly: worlds, communicators,
point-to-point matching, collectives, datatypes, reduction ops and topologies.

The guest ABI (handles, ``mpi.h``) and the host functions live in
:mod:`mpi_shim`; they delegate here.
"""
