"""The process's wasmtime Engine, its compiled-module cache and its one Linker.

A :class:`WasmEngine` is built once per process and shared by every host in
it. Modules are compiled once and cached on disk, keyed by the hash of the
wasm bytes and the wasmtime version, so a second process start does not
recompile. Every host function is defined once, on one Linker, and every
granule is instantiated from it. Before compiling, a module gets interrupt
checks (:mod:`granules.instrument`); the engine's :class:`Watchdog` sets a
granule's interrupt flag when its time is up.
"""

from __future__ import annotations

import hashlib
import heapq
import importlib.metadata
import os
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import wasmtime

from faabric.exceptions import FaabricError, ModuleError
from granules.host import register_all
from granules.instrument import add_interrupt_checks
from granules.linker import HostFunctions
from granules.wasm_binary import export_mutable_globals

if TYPE_CHECKING:
    from granules.granule import Granule

_WASMTIME_VERSION = importlib.metadata.version("wasmtime")
# Bump when the engine configuration or the module rewrite changes.
_CACHE_FORMAT = "3"


class WasmEngine:
    """One wasmtime Engine with its linker, module cache and time-limit watchdog."""

    def __init__(self, cache_dir: Path) -> None:
        config = wasmtime.Config()
        # No epoch interruption: its check's slow path is a call, which makes Cranelift spill
        # every float/vector value live across a loop. Modules check their own flag instead.
        config.wasm_threads = True  # real atomic instructions for OpenMP guests
        config.wasm_simd = True
        config.wasm_bulk_memory = True
        config.wasm_multi_memory = True  # (for modules whose interrupt checks need a memory of their own)
        self.engine = wasmtime.Engine(config)
        self.cache_dir = cache_dir / f"modules-wasmtime-{_WASMTIME_VERSION}"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.host_functions = HostFunctions(self.linker)
        register_all(self.host_functions)
        self._modules: dict[str, wasmtime.Module] = {}
        self._lock = threading.Lock()
        self.watchdog = Watchdog()

    def close(self) -> None:
        self.watchdog.close()

    def module(self, wasm: bytes) -> wasmtime.Module:
        """The compiled module for ``wasm``, from memory, the disk cache, or a compile.

        Raises:
            ModuleError: the bytes are not a valid module.
        """
        key = hashlib.sha256(wasm).hexdigest()
        module = self._modules.get(key)
        if module is not None:
            return module
        with self._lock:
            module = self._modules.get(key) or self._load_or_compile(key, wasm)
            self._modules[key] = module
        return module

    def _load_or_compile(self, key: str, wasm: bytes) -> wasmtime.Module:
        path = self.cache_dir / f"{key}-{_CACHE_FORMAT}.cwasm"
        if path.exists():
            try:
                return wasmtime.Module.deserialize_file(self.engine, str(path))
            except wasmtime.WasmtimeError:
                path.unlink(missing_ok=True)  # stale or corrupt: compile afresh
        try:
            module = wasmtime.Module(self.engine, export_mutable_globals(add_interrupt_checks(wasm)))
        except wasmtime.WasmtimeError as error:
            raise ModuleError(str(error).strip().splitlines()[0]) from None
        except FaabricError as error:
            raise ModuleError(str(error)) from None
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_bytes(module.serialize())
        os.replace(temporary, path)
        return module

    def instance_pre(self, module: wasmtime.Module) -> wasmtime.InstancePre:
        """Link ``module`` against the host functions, ready to instantiate cheaply.

        Imports the runtime lacks are linked to traps that name them.
        """
        with self._lock:
            self.host_functions.define_missing_as_traps(module)
            return self.linker.instantiate_pre(module)

    def is_cached(self, wasm: bytes) -> bool:
        """Whether ``wasm`` is compiled in the disk cache already."""
        key = hashlib.sha256(wasm).hexdigest()
        return (self.cache_dir / f"{key}-{_CACHE_FORMAT}.cwasm").exists()


class Watchdog:
    """One thread that interrupts granules whose deadline has passed.

    :meth:`arm` lowers a granule's interrupt flag and gives it a deadline;
    when that passes, the watchdog calls the granule's ``interrupt()``.
    Arming and firing hold one lock, so a deadline from a granule's earlier
    call never fires into its next one. Entries of re-armed or dropped
    granules stay in the heap until they come due, or until they make up
    half of it and it is rebuilt.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref]] = []  # (deadline, arm number, granule)
        self._armed: dict[weakref.ref, int] = {}  # each armed granule's current arm number
        self._number = 0
        self._stale = 0
        self._stopped = False
        # Reentrant: a granule's weakref callback (forget) may run in a GC inside arm().
        self._cond = threading.Condition(threading.RLock())
        self._thread = threading.Thread(target=self._run, name="faabric-watchdog", daemon=True)
        self._thread.start()

    def reference(self, granule: "Granule") -> weakref.ref:
        """The weak reference to ``granule`` to arm it with; its death disarms it."""
        return weakref.ref(granule, self.forget)

    def arm(self, ref: weakref.ref, seconds: float) -> None:
        """Lower the flag of the granule behind ``ref``; interrupt it ``seconds`` from now."""
        with self._cond:
            granule = ref()
            if granule is None:
                return
            granule.lower_interrupt()
            self._number += 1
            if ref in self._armed:
                self._stale += 1
            self._armed[ref] = self._number
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._number, ref))
            if self._stale > 64 and self._stale * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if self._armed.get(entry[2]) == entry[1]]
                heapq.heapify(self._heap)
                self._stale = 0
            if self._heap[0][1] == self._number:
                self._cond.notify()  # the new deadline is the nearest

    def forget(self, ref: weakref.ref) -> None:
        """Drop the deadline of the granule behind ``ref``."""
        with self._cond:
            if self._armed.pop(ref, None) is not None:
                self._stale += 1

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, number, ref = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if self._armed.get(ref) != number:
                    self._stale = max(0, self._stale - 1)
                    continue
                del self._armed[ref]
                granule = ref()
                if granule is not None:
                    granule.interrupt()
                del granule  # (this thread must not keep it alive while it waits)

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()
