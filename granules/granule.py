"""A granule: one wasmtime Store and Instance running one call in isolation.

A :class:`ProtoFunction` is a function prepared once: compiled, instantiated,
its ``_faasm_zygote`` run, and its memory and mutable globals captured in a
:class:`~granules.snapshot.MemorySnapshot`. Every :class:`Granule` starts
from that snapshot, copy-on-write, in a fresh Store, so nothing one call
writes is visible to the next.
"""

from __future__ import annotations

import ctypes
import math
import re

import wasmtime

from faabric.config import FunctionLimits
from faabric.exceptions import (
    FaabricError,
    GranuleOutOfMemoryError,
    GranuleTimeoutError,
    GuestTrap,
    MissingExportError,
)
from granules.engine import EPOCH_TICK_SECONDS, WasmEngine
from granules.guest_memory import GuestMemory
from granules.snapshot import WASM_PAGE, MemorySnapshot

ZYGOTE_EXPORT = "_faasm_zygote"
ENTRY_EXPORTS = ("_start", "main")
TABLE_EXPORT = "__indirect_function_table"


class ProtoFunction:
    """A function ready to start granules from: module, linker pre-instance, snapshot."""

    def __init__(self, engine: WasmEngine, name: str, wasm: bytes, limits: FunctionLimits) -> None:
        self.engine = engine
        self.name = name
        self.limits = limits
        self.module = engine.module(wasm)
        exports = {item.name: item.type for item in self.module.exports}
        self.entry = next((e for e in ENTRY_EXPORTS if isinstance(exports.get(e), wasmtime.FuncType)), None)
        if self.entry is None:
            raise MissingExportError(name, "module exports neither _start nor main")
        if not isinstance(exports.get("memory"), wasmtime.MemoryType):
            raise MissingExportError(name, "module exports no linear memory named 'memory'")
        self.global_names = [
            export for export, kind in exports.items() if isinstance(kind, wasmtime.GlobalType) and kind.mutable
        ]
        self.pre = engine.instance_pre(self.module)
        self.has_zygote = isinstance(exports.get(ZYGOTE_EXPORT), wasmtime.FuncType)
        self.snapshot = self._capture()

    def _capture(self) -> MemorySnapshot:
        granule = Granule(self, limits=self.limits, wasi=_quiet_wasi(), snapshot=None)
        if self.has_zygote:
            code = granule.call_export(ZYGOTE_EXPORT)
            if code not in (0, None):
                raise GuestTrap(self.name, f"_faasm_zygote returned {code}")
        return MemorySnapshot(self.name.replace("/", "-"), granule.memory.view, granule.read_globals())


def _quiet_wasi() -> wasmtime.WasiConfig:
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["zygote"]
    return wasi


class Granule:
    """One isolated instance of a :class:`ProtoFunction`.

    Attributes:
        memory: bounds-checked access to the instance's linear memory.
        host_error: an exception a host function raised; it trapped the guest.
    """

    def __init__(
        self,
        proto: ProtoFunction,
        limits: FunctionLimits,
        wasi: wasmtime.WasiConfig,
        snapshot: MemorySnapshot | None,
    ) -> None:
        self.proto = proto
        self.limits = limits
        self.host_error: BaseException | None = None
        self.store = wasmtime.Store(proto.engine.engine)
        self.store.set_limits(memory_size=limits.memory_bytes)
        self.store.set_epoch_deadline(math.ceil(limits.time_seconds / EPOCH_TICK_SECONDS) + 1)
        self.store.set_wasi(wasi)
        try:
            self.instance = proto.pre.instantiate(self.store)
        except wasmtime.WasmtimeError as error:
            raise self._classify(error) from None
        self.exports = self.instance.exports(self.store)
        self._memory = self.exports["memory"]
        if snapshot is not None:
            self._restore(snapshot)
        self.memory = GuestMemory(proto.name, self._memory, self.store)

    def _restore(self, snapshot: MemorySnapshot) -> None:
        missing = snapshot.pages - self._memory.size(self.store)
        if missing > 0:
            try:
                self._memory.grow(self.store, missing)
            except wasmtime.WasmtimeError:
                raise GranuleOutOfMemoryError(
                    self.proto.name, self.limits.memory_bytes, f"snapshot needs {snapshot.size} bytes"
                ) from None
        snapshot.map_into(ctypes.addressof(self._memory.data_ptr(self.store).contents))
        for name, value in snapshot.globals.items():
            self.exports[name].set_value(self.store, value)

    def read_globals(self) -> dict[str, int | float]:
        return {name: self.exports[name].value(self.store) for name in self.proto.global_names}

    def run_entry(self, func_ptr: int = 0) -> int:
        """Run the module's entry point, or function-table entry ``func_ptr``; return its code."""
        if func_ptr:
            table = self.exports.get(TABLE_EXPORT)
            if not isinstance(table, wasmtime.Table):
                raise MissingExportError(self.proto.name, f"chaining by pointer needs the {TABLE_EXPORT} export")
            func = table.get(self.store, func_ptr) if 0 <= func_ptr < table.size(self.store) else None
            if not isinstance(func, wasmtime.Func):
                raise GuestTrap(self.proto.name, f"function pointer {func_ptr} is not in the function table")
            return self._call(func, func_ptr=func_ptr)
        return self.call_export(self.proto.entry)

    def call_export(self, name: str) -> int:
        return self._call(self.exports[name])

    def _call(self, func: wasmtime.Func, func_ptr: int = 0) -> int:
        params = func.type(self.store).params
        args = [0] * len(params)  # main(argc, argv) exported directly, or a no-argument function
        try:
            result = func(self.store, *args)
        except wasmtime.ExitTrap as exit_trap:
            return exit_trap.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise self._classify(error) from None
        except BaseException as error:  # a host function's exception, re-raised by wasmtime-py
            raise self._classify(error) from None
        if self.host_error is not None:
            raise self._classify(self.host_error)
        return result if isinstance(result, int) else 0

    def _classify(self, error: BaseException) -> BaseException:
        """Turn what wasmtime raised into the runtime's typed error."""
        host_error, self.host_error = self.host_error, None
        if host_error is not None:
            if isinstance(host_error, FaabricError) or not isinstance(host_error, Exception):
                return host_error  # typed errors, and control flow such as migration, pass through
            return GuestTrap(self.proto.name, f"host function failed: {type(host_error).__name__}: {host_error}")
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.INTERRUPT:
            return GranuleTimeoutError(self.proto.name, self.limits.time_seconds)
        message = describe_wasm_error(error)
        if self._near_memory_cap() or "memory minimum size" in message:
            return GranuleOutOfMemoryError(self.proto.name, self.limits.memory_bytes, message)
        return GuestTrap(self.proto.name, message)

    def _near_memory_cap(self) -> bool:
        """Whether linear memory is within an eighth of the cap (a failed grow is likely)."""
        memory = getattr(self, "_memory", None)
        if memory is None:
            return False
        cap = self.limits.memory_bytes
        return memory.data_len(self.store) + max(cap // 8, WASM_PAGE) > cap


def describe_wasm_error(error: BaseException) -> str:
    """One line from wasmtime's multi-line trap text: the causes, and where."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    head, _, causes = text.partition("Caused by:")
    lines = [re.sub(r"^\d+:\s*", "", line.strip()) for line in causes.splitlines() if line.strip()]
    summary = "; ".join(lines) if lines else head.splitlines()[0]
    frame = re.search(r"^\s*0:\s+\S+ - (?:<unknown>|[^!]*)!(.+)$", head, re.M)
    if frame and not frame.group(1).startswith("<wasm function"):
        summary += f" (in {frame.group(1).strip()})"
    return summary

