"""OpenMP for wasm programs: ``omp.h`` and the ``__kmpc_*`` runtime (not yet implemented)."""
