"""OpenMP for wasm programs: ``omp.h``, clang's ``__kmpc_*`` runtime ABI, and the ``omp_*`` API.

``faabric cc -fopenmp`` compiles against ``include/omp.h`` and links the
guest half of the runtime (``guest/omp_runtime.c``: a thread-safe heap and
stdio, tasks, ``flush``, wide atomics). The host half (:mod:`openmp_shim.host`)
runs parallel regions on real threads: each extra thread of a team is
another instance of the module on its own OS thread (:mod:`.workers`). In
``shared`` mode (the default) all instances map the same memory pages; in
``snapshot`` mode (``SystemConfig.omp_mode``) each runs on a copy-on-write
snapshot of the parent's memory and its changes are merged back at the join
with :mod:`faabric.snapshot` diffs and merge regions. In snapshot mode,
threads past ``SystemConfig.omp_local_threads`` run on other hosts
(:mod:`.remote` sends them, :mod:`.thread_call` runs one) and are merged the
same way.
"""
