"""The MPI guest ABI: handle values and constants, exactly as in ``include/mpi.h``.

Handles are 32-bit ints (as in MPICH), so wasm32 passes them as i32. The
high byte tells the kind (communicator, group, datatype, op, request); a
test compiles a program that prints every constant of the header and checks
it against :data:`CONSTANTS`.
"""

from __future__ import annotations

from faabric.mpi import datatypes as dt
from faabric.mpi.errors import ErrorClass

COMM_NULL = 0x04000000
COMM_WORLD = 0x44000000
COMM_SELF = 0x44000001
COMM_BASE = 0x44000000  # user communicators: COMM_BASE + n, n >= 2

GROUP_NULL = 0x08000000
GROUP_EMPTY = 0x48000000
GROUP_BASE = 0x48000000

DATATYPE_NULL = 0x0C000000
DATATYPE_BASE = 0x4C000000  # predefined: DATATYPE_BASE + 1 + index in PREDEFINED_TYPES
DERIVED_BASE = 0x4C100000

OP_NULL = 0x18000000
OP_BASE = 0x58000000
USER_OP_BASE = 0x58100000

REQUEST_NULL = 0x2C000000
ERRHANDLER_NULL = 0x14000000
ERRORS_ARE_FATAL = 0x54000000
ERRORS_RETURN = 0x54000001
INFO_NULL = 0x1C000000

ANY_SOURCE = -2
ANY_TAG = -1
PROC_NULL = -1
ROOT = -3
UNDEFINED = -32766
TAG_UB = 0x7FFFFFFF
MAX_PROCESSOR_NAME = 128
MAX_ERROR_STRING = 512
MAX_LIBRARY_VERSION_STRING = 256
VERSION, SUBVERSION = 3, 1
THREAD_SINGLE, THREAD_FUNNELED, THREAD_SERIALIZED, THREAD_MULTIPLE = 0, 1, 2, 3
IDENT, CONGRUENT, SIMILAR, UNEQUAL = 0, 1, 2, 3
GRAPH, CART, DIST_GRAPH = 1, 2, 3
COMM_TYPE_SHARED = 1

IN_PLACE = 0xFFFFFFFF  # (void*)-1
STATUS_IGNORE = 1  # (MPI_Status*)1
STATUSES_IGNORE = 1
STATUS_INTS = 5  # MPI_SOURCE, MPI_TAG, MPI_ERROR, count_lo, count_hi_and_cancelled
STATUS_SIZE = 4 * STATUS_INTS

_I, _F, _C, _L, _B = dt.INTEGER, dt.FLOATING, dt.COMPLEX, dt.LOGICAL, dt.BYTE

# C name -> datatype, in handle order (wasm32: long is 4 bytes, long double 16).
PREDEFINED_TYPES: list[tuple[str, dt.Datatype]] = [
    (name, dt.basic(name, size, code, kind))
    for name, size, code, kind in [
        ("MPI_CHAR", 1, "i1", _I),
        ("MPI_SIGNED_CHAR", 1, "i1", _I),
        ("MPI_UNSIGNED_CHAR", 1, "u1", _I),
        ("MPI_BYTE", 1, "u1", _B),
        ("MPI_WCHAR", 4, "<i4", _I),
        ("MPI_SHORT", 2, "<i2", _I),
        ("MPI_UNSIGNED_SHORT", 2, "<u2", _I),
        ("MPI_INT", 4, "<i4", _I),
        ("MPI_UNSIGNED", 4, "<u4", _I),
        ("MPI_LONG", 4, "<i4", _I),
        ("MPI_UNSIGNED_LONG", 4, "<u4", _I),
        ("MPI_LONG_LONG_INT", 8, "<i8", _I),
        ("MPI_UNSIGNED_LONG_LONG", 8, "<u8", _I),
        ("MPI_FLOAT", 4, "<f4", _F),
        ("MPI_DOUBLE", 8, "<f8", _F),
        ("MPI_LONG_DOUBLE", 16, None, dt.OPAQUE),
        ("MPI_C_BOOL", 1, "u1", _L),
        ("MPI_INT8_T", 1, "i1", _I),
        ("MPI_INT16_T", 2, "<i2", _I),
        ("MPI_INT32_T", 4, "<i4", _I),
        ("MPI_INT64_T", 8, "<i8", _I),
        ("MPI_UINT8_T", 1, "u1", _I),
        ("MPI_UINT16_T", 2, "<u2", _I),
        ("MPI_UINT32_T", 4, "<u4", _I),
        ("MPI_UINT64_T", 8, "<u8", _I),
        ("MPI_AINT", 4, "<i4", _I),
        ("MPI_OFFSET", 8, "<i8", _I),
        ("MPI_COUNT", 8, "<i8", _I),
        ("MPI_PACKED", 1, "u1", _B),
        ("MPI_C_FLOAT_COMPLEX", 8, "<c8", _C),
        ("MPI_C_DOUBLE_COMPLEX", 16, "<c16", _C),
    ]
] + [
    ("MPI_FLOAT_INT", dt.pair("MPI_FLOAT_INT", "<f4", 4, 4, 8)),
    ("MPI_DOUBLE_INT", dt.pair("MPI_DOUBLE_INT", "<f8", 8, 8, 16)),
    ("MPI_LONG_INT", dt.pair("MPI_LONG_INT", "<i4", 4, 4, 8)),
    ("MPI_2INT", dt.pair("MPI_2INT", "<i4", 4, 4, 8)),
    ("MPI_SHORT_INT", dt.pair("MPI_SHORT_INT", "<i2", 2, 4, 8)),
    (
        "MPI_LONG_DOUBLE_INT",
        dt.Datatype("MPI_LONG_DOUBLE_INT", ((0, 16), (16, 4)), 20, 0, 32, None, dt.OPAQUE, predefined=True),
    ),
]
DATATYPE_HANDLES: dict[str, int] = {name: DATATYPE_BASE + 1 + i for i, (name, _) in enumerate(PREDEFINED_TYPES)}
DATATYPE_ALIASES = {
    "MPI_LONG_LONG": "MPI_LONG_LONG_INT",
    "MPI_C_COMPLEX": "MPI_C_FLOAT_COMPLEX",
    "MPI_CXX_BOOL": "MPI_C_BOOL",
}

OPS = ["MAX", "MIN", "SUM", "PROD", "LAND", "BAND", "LOR", "BOR", "LXOR", "BXOR", "MINLOC", "MAXLOC", "REPLACE"]
OP_HANDLES: dict[str, int] = {f"MPI_{name}": OP_BASE + 1 + i for i, name in enumerate(OPS)}

ERROR_CLASSES: dict[str, int] = {e.mpi_name: int(e) for e in ErrorClass}

CONSTANTS: dict[str, int] = {
    "MPI_COMM_NULL": COMM_NULL,
    "MPI_COMM_WORLD": COMM_WORLD,
    "MPI_COMM_SELF": COMM_SELF,
    "MPI_GROUP_NULL": GROUP_NULL,
    "MPI_GROUP_EMPTY": GROUP_EMPTY,
    "MPI_DATATYPE_NULL": DATATYPE_NULL,
    "MPI_OP_NULL": OP_NULL,
    "MPI_REQUEST_NULL": REQUEST_NULL,
    "MPI_ERRHANDLER_NULL": ERRHANDLER_NULL,
    "MPI_ERRORS_ARE_FATAL": ERRORS_ARE_FATAL,
    "MPI_ERRORS_RETURN": ERRORS_RETURN,
    "MPI_INFO_NULL": INFO_NULL,
    "MPI_ANY_SOURCE": ANY_SOURCE,
    "MPI_ANY_TAG": ANY_TAG,
    "MPI_PROC_NULL": PROC_NULL,
    "MPI_ROOT": ROOT,
    "MPI_UNDEFINED": UNDEFINED,
    "MPI_TAG_UB": TAG_UB,
    "MPI_MAX_PROCESSOR_NAME": MAX_PROCESSOR_NAME,
    "MPI_MAX_ERROR_STRING": MAX_ERROR_STRING,
    "MPI_MAX_LIBRARY_VERSION_STRING": MAX_LIBRARY_VERSION_STRING,
    "MPI_VERSION": VERSION,
    "MPI_SUBVERSION": SUBVERSION,
    "MPI_THREAD_SINGLE": THREAD_SINGLE,
    "MPI_THREAD_FUNNELED": THREAD_FUNNELED,
    "MPI_THREAD_SERIALIZED": THREAD_SERIALIZED,
    "MPI_THREAD_MULTIPLE": THREAD_MULTIPLE,
    "MPI_IDENT": IDENT,
    "MPI_CONGRUENT": CONGRUENT,
    "MPI_SIMILAR": SIMILAR,
    "MPI_UNEQUAL": UNEQUAL,
    "MPI_GRAPH": GRAPH,
    "MPI_CART": CART,
    "MPI_DIST_GRAPH": DIST_GRAPH,
    "MPI_COMM_TYPE_SHARED": COMM_TYPE_SHARED,
    **DATATYPE_HANDLES,
    **{alias: DATATYPE_HANDLES[name] for alias, name in DATATYPE_ALIASES.items()},
    **OP_HANDLES,
    **ERROR_CLASSES,
}
