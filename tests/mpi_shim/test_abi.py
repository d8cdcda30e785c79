"""mpi.h and mpi_shim.abi agree, and every function mpi.h declares is a host function of the right arity."""

from __future__ import annotations

import inspect
import re

from granules.toolchain import compile_wasm
from mpi_shim import abi, collectives, host, requests, types
from tests.mpi_shim.conftest import ROOT

HEADER = (ROOT / "mpi_shim" / "include" / "mpi.h").read_text()
ALL_FUNCTIONS = host.FUNCTIONS + requests.FUNCTIONS + collectives.FUNCTIONS + types.FUNCTIONS
DEFINED = {name: (params, fn) for name, params, fn in ALL_FUNCTIONS}
GUEST_SIDE = {"MPI_Alloc_mem", "MPI_Free_mem"}  # static inline malloc/free in the header
FLOAT_RESULTS = {"MPI_Wtime", "MPI_Wtick"}


async def test_every_header_constant_has_the_value_abi_py_gives_it(cluster, tmp_path):
    names = sorted(abi.CONSTANTS)
    lines = "\n".join(f'    printf("%s %lld\\n", "{n}", (long long){n});' for n in names)
    pointers = "\n".join(
        f'    printf("%s %lld\\n", "{n}", (long long)(unsigned long){n});'
        for n in ("MPI_IN_PLACE", "MPI_STATUS_IGNORE", "MPI_STATUSES_IGNORE")
    )
    source = tmp_path / "constants.c"
    source.write_text(
        "#include <mpi.h>\n#include <stdio.h>\nint main(void)\n{\n"
        f"{lines}\n{pointers}\n"
        '    printf("sizeof(MPI_Status) %d\\n", (int)sizeof(MPI_Status));\n    return 0;\n}\n'
    )
    await cluster.upload("mpi", "constants", compile_wasm([source], tmp_path / "constants.wasm"))
    result = await cluster.invoke("mpi", "constants")
    printed = dict(line.rsplit(" ", 1) for line in result.stdout.decode().splitlines())
    for name in names:
        assert int(printed[name]) == abi.CONSTANTS[name], name
    assert int(printed["MPI_IN_PLACE"]) == abi.IN_PLACE
    assert int(printed["MPI_STATUS_IGNORE"]) == abi.STATUS_IGNORE
    assert int(printed["sizeof(MPI_Status)"]) == abi.STATUS_SIZE


def test_every_declared_function_is_defined_with_the_declared_arity():
    declared = {
        m.group(2): m.group(3)
        for m in re.finditer(r"^(int|double) (MPI_\w+)\(([^;]*)\);", HEADER, re.M | re.S)
    }
    assert len(declared) > 80
    for name, arguments in declared.items():
        arity = 0 if arguments.strip() == "void" else arguments.count(",") + 1
        if name in FLOAT_RESULTS:
            assert arity == 0
            continue
        assert name in DEFINED, f"{name} is declared but not implemented"
        params, fn = DEFINED[name]
        assert len(params) == arity, name
        assert len(inspect.signature(fn).parameters) == arity + 1, name
    assert set(DEFINED) <= set(declared), "host functions missing from mpi.h"
    for name in GUEST_SIDE:
        assert f"static inline int {name}(" in HEADER


def test_the_issue_function_list_is_fully_declared():
    required = """Init Init_thread Initialized Finalize Finalized Abort Query_thread Get_version Get_processor_name
    Wtime Wtick Comm_rank Comm_size Comm_dup Comm_split Comm_create Comm_group Comm_compare Comm_free Group_incl
    Group_excl Group_size Group_rank Group_translate_ranks Group_free Send Ssend Rsend Recv Isend Issend Irecv Wait
    Waitall Waitany Waitsome Test Testall Testany Request_free Probe Iprobe Get_count Sendrecv Sendrecv_replace
    Barrier Bcast Reduce Allreduce Scan Exscan Gather Gatherv Allgather Allgatherv Scatter Scatterv Alltoall
    Alltoallv Reduce_scatter Reduce_scatter_block Op_create Op_free Type_size Type_contiguous Type_vector
    Type_create_struct Type_commit Type_free Type_get_extent Cart_create Cart_get Cart_rank Cart_coords Cart_shift
    Cart_sub Dims_create Alloc_mem Free_mem""".split()
    for name in required:
        assert re.search(rf"\bint MPI_{name}\(|double MPI_{name}\(", HEADER), name
