"""Thin raw-ffi paths for the hot parts of starting and calling granules.

wasmtime-py's high-level API converts types and builds wrapper objects on
every call (tens of µs); these helpers call the C API directly with values
prepared once. They also never consult wasmtime-py's process-global
"last exception" slot, which different threads would race on: host errors
travel on the granule instead (see :mod:`granules.linker`).
"""

from __future__ import annotations

import ctypes
import struct
from ctypes import POINTER, byref
from typing import Callable

import wasmtime
from wasmtime import _ffi as ffi

_VAL_FIELD = {"i": "i32", "I": "i64", "f": "f32", "F": "f64"}
_VAL_KIND = {"i": ffi.WASMTIME_I32, "I": ffi.WASMTIME_I64, "f": ffi.WASMTIME_F32, "F": ffi.WASMTIME_F64}
_CODE_OF = {"i32": "i", "i64": "I", "f32": "f", "f64": "F"}

# wasmtime's unchecked host callback, its pointers taken as plain addresses: ctypes then builds no
# pointer objects per call, and arguments and results are read and written in place (~0.2 µs each).
HostCallback = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

# The same library, loaded so that calls keep the GIL. Calls that take well
# under a microsecond go through it: releasing and re-taking the GIL around
# each of them makes worker threads ping-pong on it, which cost more than
# the calls themselves. Calls that run guest code still release the GIL.
_GIL_HELD = ctypes.PyDLL(ffi.dll._name)


def _gil_held(name: str):
    from wasmtime import _bindings

    original = getattr(_bindings, f"_{name}")
    function = getattr(_GIL_HELD, name)
    function.argtypes, function.restype = original.argtypes, original.restype
    return function


_memory_data = _gil_held("wasmtime_memory_data")
_memory_data_size = _gil_held("wasmtime_memory_data_size")
_memory_grow = _gil_held("wasmtime_memory_grow")
_export_nth = _gil_held("wasmtime_instance_export_nth")
_global_get = _gil_held("wasmtime_global_get")
_global_set = _gil_held("wasmtime_global_set")
_table_size = _gil_held("wasmtime_table_size")
_table_get = _gil_held("wasmtime_table_get")
_instantiate_pre = _gil_held("wasmtime_instance_pre_instantiate")
_trap_new = _gil_held("wasmtime_trap_new")
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()


def type_codes(types) -> str:
    """``"iiI"``-style codes for a list of wasmtime ValTypes."""
    return "".join(_CODE_OF[str(t)] for t in types)


def value_field(code: str) -> str:
    return _VAL_FIELD[code]


_RESULT_LAYOUT = {"i": ("<I", 0xFFFFFFFF), "I": ("<Q", 0xFFFFFFFFFFFFFFFF), "f": ("<f", None), "F": ("<d", None)}


def result_writer(code: str) -> Callable:
    """A function writing a host call's one result (wasm type ``code``) into its raw value array;
    integers wrap to the wasm type's width, as ctypes' fields do."""
    layout, mask = _RESULT_LAYOUT[code]
    pack_into, at = struct.Struct(layout).pack_into, (ctypes.c_char * 8).from_address
    if mask is None:
        return lambda values, result: pack_into(at(values), 0, result)
    return lambda values, result: pack_into(at(values), 0, result & mask)


_RAW_LAYOUT = {"i": "i12x", "I": "q8x", "f": "f12x", "F": "d8x"}  # each wasmtime_val_raw_t is 16 bytes


def args_reader(codes: str) -> Callable:
    """A function reading a host call's arguments (wasm types ``codes``) from its raw value array at once."""
    if not codes:
        return lambda _values: ()
    layout = struct.Struct("<" + "".join(_RAW_LAYOUT[code] for code in codes))
    unpack_from, at = layout.unpack_from, (ctypes.c_char * layout.size).from_address  # no foreign call: 0.2 µs

    def read(values) -> tuple:
        return unpack_from(at(values))

    return read


def context(store: wasmtime.Store):
    return store._context()


def define_unchecked(linker: wasmtime.Linker, module: str, name: str, func_type: wasmtime.FuncType, callback) -> None:
    """Define a host function whose callback reads and writes raw values."""
    module_bytes, name_bytes = module.encode(), name.encode()
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(),
        ctypes.create_string_buffer(module_bytes), len(module_bytes),
        ctypes.create_string_buffer(name_bytes), len(name_bytes),
        func_type.ptr(), ctypes.cast(callback, ffi.wasmtime_func_unchecked_callback_t), None, _NO_FINALIZER,
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def new_trap(message: str) -> int:
    """A ``wasm_trap_t*`` (as an address) for a host callback to return."""
    data = message.encode()
    return ctypes.cast(_trap_new(ctypes.create_string_buffer(data), len(data)), ctypes.c_void_p).value


def instantiate(pre: wasmtime.InstancePre, ctx) -> ffi.wasmtime_instance_t:
    """Instantiate; raise Trap or WasmtimeError on failure."""
    instance = ffi.wasmtime_instance_t()
    trap = POINTER(ffi.wasm_trap_t)()
    error = _instantiate_pre(pre.ptr(), ctx, byref(instance), byref(trap))
    _raise_for(error, trap)
    return instance


def export_at(ctx, instance: ffi.wasmtime_instance_t, index: int) -> ffi.wasmtime_extern_t:
    item = ffi.wasmtime_extern_t()
    name = POINTER(ctypes.c_char)()
    length = ctypes.c_size_t()
    if not _export_nth(ctx, byref(instance), index, byref(name), byref(length), byref(item)):
        raise IndexError(f"no export at index {index}")
    return item


def memory_base(ctx, memory) -> int:
    return ctypes.cast(_memory_data(ctx, byref(memory)), ctypes.c_void_p).value or 0


def memory_size(ctx, memory) -> int:
    return _memory_data_size(ctx, byref(memory))


def memory_grow(ctx, memory, pages: int) -> int | None:
    """Grow by ``pages``; the old size in pages, or None if the limit forbids it."""
    previous = ctypes.c_uint64()
    error = _memory_grow(ctx, byref(memory), pages, byref(previous))
    if error:
        ffi.wasmtime_error_delete(error)
        return None
    return previous.value


def make_value(code: str, value) -> ffi.wasmtime_val_t:
    val = ffi.wasmtime_val_t()
    val.kind = _VAL_KIND[code]
    setattr(val.of, _VAL_FIELD[code], value)
    return val


def global_get(ctx, global_) -> ffi.wasmtime_val_t:
    val = ffi.wasmtime_val_t()
    _global_get(ctx, byref(global_), byref(val))
    return val


def global_set(ctx, global_, val: ffi.wasmtime_val_t) -> None:
    error = _global_set(ctx, byref(global_), byref(val))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def call(ctx, func, args: list[int], result_code: str | None):
    """Call ``func`` with i32 ``args``; return its one result (or None).

    Raises:
        wasmtime.ExitTrap: the guest called ``proc_exit``.
        wasmtime.Trap, wasmtime.WasmtimeError: the guest trapped.
    """
    slots = (ffi.wasmtime_val_raw_t * max(1, len(args)))()
    for index, value in enumerate(args):
        slots[index].i32 = value
    trap = POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call_unchecked(ctx, byref(func), slots, len(slots), byref(trap))
    _raise_for(error, trap)
    if result_code is None:
        return None
    return getattr(slots[0], _VAL_FIELD[result_code])


def table_func(ctx, table, index: int):
    """The funcref at ``index`` of ``table``, or None."""
    if not 0 <= index < _table_size(ctx, byref(table)):
        return None
    val = ffi.wasmtime_val_t()
    if not _table_get(ctx, byref(table), index, byref(val)):
        return None
    if val.kind != ffi.WASMTIME_FUNCREF.value or not val.of.funcref.store_id:
        return None
    return val.of.funcref


def func_type(ctx, func) -> wasmtime.FuncType:
    return wasmtime.FuncType._from_ptr(ffi.wasmtime_func_type(ctx, byref(func)), None)


def _raise_for(error, trap) -> None:
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
