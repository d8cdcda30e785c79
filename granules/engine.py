"""The process's wasmtime Engine, its compiled-module cache and its one Linker.

A :class:`WasmEngine` is built once per process and shared by every host in
it. Modules are compiled once and cached on disk, keyed by the hash of the
wasm bytes and the wasmtime version, so a second process start does not
recompile. Every host function is defined once, on one Linker, and every
granule is instantiated from it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import threading
from pathlib import Path

import wasmtime

from faabric.exceptions import FaabricError, ModuleError
from granules.host import register_all
from granules.linker import HostFunctions
from granules.wasm_binary import export_mutable_globals

EPOCH_TICK_SECONDS = 0.01
_WASMTIME_VERSION = importlib.metadata.version("wasmtime")
# Bump when the engine configuration or the module rewrite changes.
_CACHE_FORMAT = "1"


class WasmEngine:
    """One wasmtime Engine with its linker, module cache and epoch ticker."""

    def __init__(self, cache_dir: Path) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.wasm_threads = True  # real atomic instructions for OpenMP guests
        config.wasm_simd = True
        config.wasm_bulk_memory = True
        self.engine = wasmtime.Engine(config)
        self.cache_dir = cache_dir / f"modules-wasmtime-{_WASMTIME_VERSION}"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.host_functions = HostFunctions(self.linker)
        register_all(self.host_functions)
        self._modules: dict[str, wasmtime.Module] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="faabric-epoch", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(EPOCH_TICK_SECONDS):
            self.engine.increment_epoch()

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()

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
            module = wasmtime.Module(self.engine, export_mutable_globals(wasm))
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
