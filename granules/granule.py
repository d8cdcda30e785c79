"""A granule: one wasmtime Store and Instance running one call in isolation.

A :class:`ProtoFunction` is a function prepared once: compiled, instantiated,
its ``_faasm_zygote`` run, and its memory and mutable globals captured in a
:class:`~granules.snapshot.MemorySnapshot`. Every :class:`Granule` starts
from that snapshot, copy-on-write, in a fresh Store, so nothing one call
writes is visible to the next.

Time limits: every module checks an exported interrupt flag, a mutable
global, at each function entry and every 1,024 passes of each loop
(:mod:`granules.instrument`).
:meth:`Granule.arm` lowers the flag and starts the granule's deadline; the
engine's watchdog thread raises it when the deadline passes, and the guest
traps (``unreachable``) at its next check. The watchdog sets the global
while the guest runs on another thread: ``wasmtime_global_set`` then only
looks up the instance (created before arming, never changed after) and
stores one word into the instance's global storage, which the guest merely
reads, afresh at every loop check. It holds the GIL, so it never overlaps
host-side use of the store (host functions and all store access run with
the GIL); it holds a strong reference, so the store is alive.
"""

from __future__ import annotations

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
from granules import raw
from granules.engine import WasmEngine
from granules.guest_memory import GuestMemory
from granules.instrument import INTERRUPT_EXPORT, START_EXPORT
from granules.snapshot import WASM_PAGE, MemorySnapshot

ZYGOTE_EXPORT = "_faasm_zygote"
ENTRY_EXPORTS = ("_start", "main")
TABLE_EXPORT = "__indirect_function_table"
_RAISED, _LOWERED = raw.make_value("i", 1), raw.make_value("i", 0)


class ProtoFunction:
    """A function ready to start granules from: module, linker pre-instance, snapshot."""

    def __init__(self, engine: WasmEngine, name: str, wasm: bytes, limits: FunctionLimits) -> None:
        self.engine = engine
        self.name = name
        self.limits = limits
        self.module = engine.module(wasm)
        exports = {item.name: (index, item.type) for index, item in enumerate(self.module.exports)}

        def func_export(export: str) -> tuple[int, wasmtime.FuncType] | None:
            found = exports.get(export)
            return found if found and isinstance(found[1], wasmtime.FuncType) else None

        entry = next((func_export(e) for e in ENTRY_EXPORTS if func_export(e)), None)
        if entry is None:
            raise MissingExportError(name, "module exports neither _start nor main")
        memory = exports.get("memory")
        if memory is None or not isinstance(memory[1], wasmtime.MemoryType):
            raise MissingExportError(name, "module exports no linear memory named 'memory'")
        self.memory_index = memory[0]
        self.entry_index, self.entry_params, self.entry_result = _signature(entry)
        table = exports.get(TABLE_EXPORT)
        self.table_index = table[0] if table and isinstance(table[1], wasmtime.TableType) else None
        zygote = func_export(ZYGOTE_EXPORT)
        self.zygote = _signature(zygote) if zygote else None
        self.interrupt_index = exports[INTERRUPT_EXPORT][0]  # (added to every module when it is compiled)
        start = func_export(START_EXPORT)
        self.start_index = start[0] if start else None
        self.global_indices = [  # (not the interrupt flag: it is no program state)
            index for name, (index, kind) in exports.items()
            if isinstance(kind, wasmtime.GlobalType) and kind.mutable and name != INTERRUPT_EXPORT
        ]
        # WASI functions the module imports: a granule's WASI context offers only these.
        self.wasi_imports = frozenset(i.name for i in self.module.imports if i.module == "wasi_snapshot_preview1")
        self.pre = engine.instance_pre(self.module)
        self.snapshot = self._capture()
        self.idle: list[Granule] = []  # reset-ready granules (list ops are atomic under the GIL)

    def close(self) -> None:
        """Release idle granules and the snapshot."""
        self.idle.clear()
        self.snapshot.close()

    @property
    def has_zygote(self) -> bool:
        return self.zygote is not None

    def _capture(self) -> MemorySnapshot:
        granule = Granule(self, limits=self.limits, wasi=_quiet_wasi(), snapshot=None)
        if self.zygote is not None:
            code = granule.call_signature(*self.zygote)
            if code not in (0, None):
                raise GuestTrap(self.name, f"_faasm_zygote returned {code}")
        return MemorySnapshot(self.name.replace("/", "-"), granule.memory.view, granule.read_globals())


def _signature(found: tuple[int, wasmtime.FuncType]) -> tuple[int, int, str | None]:
    index, func_type = found
    results = raw.type_codes(func_type.results)
    return index, len(func_type.params), results[:1] or None


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
        self.extensions: dict[str, object] = {}  # what host-interface areas keep per granule (e.g. OpenMP handles)
        self.store = wasmtime.Store(proto.engine.engine)
        self.store.set_limits(memory_size=limits.memory_bytes)
        self.store.set_wasi(wasi)
        self.ctx = raw.context(self.store)
        self._memory = self._interrupt = None
        try:
            self.instance = raw.instantiate(proto.pre, self.ctx)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise self.classify(error) from None
        self._memory = raw.export_at(self.ctx, self.instance, proto.memory_index).of.memory
        self._entry = raw.export_at(self.ctx, self.instance, proto.entry_index).of.func
        self._globals = [raw.export_at(self.ctx, self.instance, i).of.global_ for i in proto.global_indices]
        self._interrupt = raw.export_at(self.ctx, self.instance, proto.interrupt_index).of.global_
        self._watchdog = proto.engine.watchdog
        self._watch_ref = self._watchdog.reference(self)
        self.arm()
        if proto.start_index is not None:  # the module's start function, unhooked so it runs under the deadline
            self.call_signature(proto.start_index, 0, None)
        if snapshot is not None:
            self._restore(snapshot)
        self.memory = GuestMemory(proto.name, self.ctx, self._memory)

    def _restore(self, snapshot: MemorySnapshot) -> None:
        missing = snapshot.pages - raw.memory_size(self.ctx, self._memory) // WASM_PAGE
        if missing > 0 and raw.memory_grow(self.ctx, self._memory, missing) is None:
            raise GranuleOutOfMemoryError(
                self.proto.name, self.limits.memory_bytes, f"snapshot needs {snapshot.size} bytes"
            )
        snapshot.map_into(raw.memory_base(self.ctx, self._memory))
        for handle, value in zip(self._globals, snapshot.globals.values()):
            raw.global_set(self.ctx, handle, value)

    def reset(self, wasi: wasmtime.WasiConfig, snapshot: MemorySnapshot) -> None:
        """Make this granule as good as new for another call: snapshot memory, globals, WASI."""
        self.host_error = None
        self.store.set_wasi(wasi)
        self.arm()
        self._restore(snapshot)

    def arm(self, seconds: float | None = None) -> None:
        """Lower the interrupt flag and stop the guest ``seconds`` (default: the time limit) from now."""
        self._watchdog.arm(self._watch_ref, self.limits.time_seconds if seconds is None else seconds)

    def interrupt(self) -> None:
        """Raise the interrupt flag: running guest code traps at its next check (any thread may call this)."""
        raw.global_set(self.ctx, self._interrupt, _RAISED)

    def lower_interrupt(self) -> None:
        """Lower the interrupt flag (the watchdog does, when arming)."""
        raw.global_set(self.ctx, self._interrupt, _LOWERED)

    @property
    def interrupted(self) -> bool:
        """Whether the interrupt flag is raised."""
        return self._interrupt is not None and raw.global_get(self.ctx, self._interrupt).of.i32 != 0

    def release(self, keep_at_most: int) -> None:
        """Offer this granule, after a clean call, for reuse by its function.

        Granules whose memory grew past the snapshot are dropped: the extra
        pages would count against the next call's memory cap.
        """
        idle = self.proto.idle
        if len(idle) < keep_at_most and raw.memory_size(self.ctx, self._memory) == self.proto.snapshot.size:
            idle.append(self)

    def read_globals(self) -> dict:
        """Raw values of the module's mutable globals, by export index (in ``proto.global_indices`` order)."""
        return {
            index: raw.global_get(self.ctx, handle) for index, handle in zip(self.proto.global_indices, self._globals)
        }

    def run_entry(self, func_ptr: int = 0) -> int:
        """Run the module's entry point, or function-table entry ``func_ptr``; return its code."""
        if not func_ptr:
            return self._call(self._entry, self.proto.entry_params, self.proto.entry_result)
        if self.proto.table_index is None:
            raise MissingExportError(self.proto.name, f"chaining by pointer needs the {TABLE_EXPORT} export")
        table = raw.export_at(self.ctx, self.instance, self.proto.table_index).of.table
        func = raw.table_func(self.ctx, table, func_ptr)
        if func is None:
            raise GuestTrap(self.proto.name, f"function pointer {func_ptr} is not in the function table")
        func_type = raw.func_type(self.ctx, func)
        result = raw.type_codes(func_type.results)[:1] or None
        return self._call(func, len(func_type.params), result)

    def call_signature(self, index: int, params: int, result: str | None) -> int:
        """Call the exported function at export ``index`` (all-zero arguments)."""
        return self._call(raw.export_at(self.ctx, self.instance, index).of.func, params, result)

    def _call(self, func, params: int, result: str | None) -> int:
        try:
            value = raw.call(self.ctx, func, [0] * params, result)  # main(argc, argv) gets zeros
        except wasmtime.ExitTrap as exit_trap:
            return exit_trap.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise self.classify(error) from None
        if self.host_error is not None:
            raise self.classify(self.host_error)
        return value if isinstance(value, int) else 0

    def classify(self, error: BaseException) -> BaseException:
        """Turn what wasmtime raised while running this granule into the runtime's typed error.

        A host function's stored exception takes precedence; then time-outs,
        a memory cap nearly reached, and other traps.
        """
        host_error, self.host_error = self.host_error, None
        if host_error is not None:
            if isinstance(host_error, FaabricError) or not isinstance(host_error, Exception):
                return host_error  # typed errors, and control flow such as migration, pass through
            return GuestTrap(self.proto.name, f"host function failed: {type(host_error).__name__}: {host_error}")
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.UNREACHABLE and self.interrupted:
            return GranuleTimeoutError(self.proto.name, self.limits.time_seconds)
        message = describe_wasm_error(error)
        if self._near_memory_cap() or "memory minimum size" in message:
            return GranuleOutOfMemoryError(self.proto.name, self.limits.memory_bytes, message)
        return GuestTrap(self.proto.name, message)

    def _near_memory_cap(self) -> bool:
        """Whether linear memory is within an eighth of the cap (a failed grow is likely)."""
        if self._memory is None:
            return False
        cap = self.limits.memory_bytes
        return raw.memory_size(self.ctx, self._memory) + max(cap // 8, WASM_PAGE) > cap


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

