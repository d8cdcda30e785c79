"""Host functions, defined once on the engine's one Linker, area by area.

Each area module in :mod:`granules.host` has a ``register(define)`` function
that defines its imports through :func:`HostFunctions.define`. A host
function receives the :class:`~granules.context.ActiveCall` of the granule
calling it as its first argument, then the guest's arguments.
"""

from __future__ import annotations

from typing import Callable

import wasmtime

from faabric.exceptions import GuestTrap
from granules.context import ACTIVE_CALL

_TYPES = {"i": wasmtime.ValType.i32, "I": wasmtime.ValType.i64, "f": wasmtime.ValType.f32, "F": wasmtime.ValType.f64}
_WASI_MODULE = "wasi_snapshot_preview1"


def _types(codes: str) -> list[wasmtime.ValType]:
    return [_TYPES[code]() for code in codes]


class HostFunctions:
    """The set of host functions defined on one Linker."""

    def __init__(self, linker: wasmtime.Linker) -> None:
        self._linker = linker
        self.defined: set[tuple[str, str]] = set()

    def define(self, name: str, params: str, results: str, fn: Callable, module: str = "env") -> None:
        """Define ``module.name`` with wasm types given as codes (``i`` i32, ``I`` i64, ``f``/``F`` floats).

        Any exception ``fn`` raises is kept on the calling granule and traps it;
        the granule re-raises it once the guest has unwound.
        """

        def host_function(*args):
            call = ACTIVE_CALL.get()
            try:
                return fn(call, *args)
            except BaseException as error:
                call.granule.host_error = error
                raise

        host_function.__name__ = name
        self._linker.define_func(module, name, wasmtime.FuncType(_types(params), _types(results)), host_function)
        self.defined.add((module, name))

    def define_missing_as_traps(self, module: wasmtime.Module) -> None:
        """Make every import the runtime lacks trap with its name when called."""
        for item in module.imports:
            key = (item.module, item.name)
            if item.module == _WASI_MODULE or key in self.defined:
                continue
            if not isinstance(item.type, wasmtime.FuncType):
                continue
            self._define_trap(item.module, item.name, item.type)

    def _define_trap(self, module: str, name: str, func_type: wasmtime.FuncType) -> None:
        def unimplemented(*_args):
            call = ACTIVE_CALL.get()
            error = GuestTrap(call.message.name, f"called {module}.{name}, which faabric-py does not implement")
            call.granule.host_error = error
            raise error

        self._linker.define_func(module, name, func_type, unimplemented)
        self.defined.add((module, name))
