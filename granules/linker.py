"""Host functions, defined once on the engine's one Linker, area by area.

Each area module in :mod:`granules.host` has a ``register(host_functions)``
function that defines its imports through :meth:`HostFunctions.define`. A
host function receives the :class:`~granules.context.ActiveCall` of the
granule calling it, then the guest's arguments as Python numbers.

Host functions are linked through wasmtime's raw "unchecked" interface: one
ctypes callback each, reading and writing raw values (about 1 µs a call
instead of 15). An exception a host function raises is kept on the calling
granule, and the guest is trapped; the granule re-raises it once the guest
has unwound.
"""

from __future__ import annotations

from typing import Callable

import wasmtime

from faabric.exceptions import GuestTrap
from granules import raw
from granules.context import ACTIVE_CALL

_TYPES = {"i": wasmtime.ValType.i32, "I": wasmtime.ValType.i64, "f": wasmtime.ValType.f32, "F": wasmtime.ValType.f64}
_WASI_MODULE = "wasi_snapshot_preview1"


def _types(codes: str) -> list[wasmtime.ValType]:
    return [_TYPES[code]() for code in codes]


class HostFunctions:
    """The set of host functions defined on one Linker."""

    def __init__(self, linker: wasmtime.Linker) -> None:
        self._linker = linker
        self._callbacks: list = []  # ctypes thunks must outlive the linker
        self.defined: set[tuple[str, str]] = set()

    def define(self, name: str, params: str, results: str, fn: Callable, module: str = "env") -> None:
        """Define ``module.name`` with wasm types given as codes (``i`` i32, ``I`` i64, ``f``/``F`` floats)."""
        read_args = raw.args_reader(params)
        write_result = raw.result_writer(results) if results else None
        trap_text = f"host function {module}.{name} failed"

        def callback(_env, _caller, values, _count):
            try:
                call = ACTIVE_CALL.get()
            except LookupError:
                return raw.new_trap(f"{module}.{name} called outside a function call")
            try:
                result = fn(call, *read_args(values))
                if write_result is not None:
                    write_result(values, result)
                return 0
            except BaseException as error:  # noqa: B036 - carried to the granule, re-raised there
                call.granule.host_error = error
                return raw.new_trap(trap_text)

        thunk = raw.HostCallback(callback)
        self._callbacks.append(thunk)
        raw.define_unchecked(self._linker, module, name, wasmtime.FuncType(_types(params), _types(results)), thunk)
        self.defined.add((module, name))

    def define_missing_as_traps(self, module: wasmtime.Module) -> None:
        """Make every import the runtime lacks trap with its name when called."""
        for item in module.imports:
            key = (item.module, item.name)
            if item.module == _WASI_MODULE or key in self.defined or not isinstance(item.type, wasmtime.FuncType):
                continue
            params, results = raw.type_codes(item.type.params), raw.type_codes(item.type.results)
            self.define(item.name, params, results, _unimplemented(item.module, item.name), module=item.module)


def _unimplemented(module: str, name: str) -> Callable:
    def unimplemented(call, *_args):
        raise GuestTrap(call.message.name, f"called {module}.{name}, which faabric-py does not implement")

    return unimplemented
