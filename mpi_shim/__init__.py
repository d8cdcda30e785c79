"""MPI for wasm programs: the guest ABI (``include/mpi.h``, :mod:`mpi_shim.abi`)
and its host functions (:mod:`mpi_shim.host`), delegating to :mod:`faabric.mpi`."""
