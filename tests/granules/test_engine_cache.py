"""Compiled modules are cached on disk and reused by a new engine."""

import pytest
import wasmtime

import granules.engine as engine_module
from granules.engine import ModuleError, WasmEngine

NOOP = wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))')


def test_a_second_engine_loads_the_module_without_compiling(tmp_path, monkeypatch):
    first = WasmEngine(tmp_path)
    try:
        first.module(NOOP)
    finally:
        first.close()
    assert WasmEngine.is_cached(first, NOOP)

    def no_compiling(_wasm):
        raise AssertionError("the module was compiled again")

    monkeypatch.setattr(engine_module, "export_mutable_globals", no_compiling)
    second = WasmEngine(tmp_path)
    try:
        assert isinstance(second.module(NOOP), wasmtime.Module)
    finally:
        second.close()


def test_a_corrupt_cache_entry_is_recompiled(tmp_path):
    engine = WasmEngine(tmp_path)
    try:
        engine.module(NOOP)
        for entry in engine.cache_dir.glob("*.cwasm"):
            entry.write_bytes(b"corrupt")
        fresh = WasmEngine(tmp_path)
        assert isinstance(fresh.module(NOOP), wasmtime.Module)
        fresh.close()
    finally:
        engine.close()


def test_invalid_bytes_raise_module_error(tmp_path):
    engine = WasmEngine(tmp_path)
    try:
        with pytest.raises(ModuleError):
            engine.module(b"\0asm\x01\0\0\0\x01\xff")
    finally:
        engine.close()
