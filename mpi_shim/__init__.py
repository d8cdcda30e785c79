"""MPI for wasm programs: the guest ABI (``mpi.h``) and its host functions (not yet implemented)."""
