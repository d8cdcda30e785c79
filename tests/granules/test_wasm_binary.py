"""The module rewrite that exports mutable globals for snapshots."""

import pytest
import wasmtime

from granules.wasm_binary import GLOBAL_EXPORT_PREFIX, WasmFormatError, export_mutable_globals


def exports_of(wasm: bytes) -> dict[str, object]:
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    return {e.name: e.type for e in module.exports}


def test_mutable_globals_are_exported_and_immutable_ones_are_not():
    wasm = wasmtime.wat2wasm(
        '(module (global (mut i32) (i32.const 5)) (global i32 (i32.const 1))'
        ' (global (mut i64) (i64.const 7)) (func (export "f")))'
    )
    exports = exports_of(export_mutable_globals(wasm))
    assert set(exports) == {"f", f"{GLOBAL_EXPORT_PREFIX}0", f"{GLOBAL_EXPORT_PREFIX}2"}


def test_indices_count_imported_globals_first():
    wasm = wasmtime.wat2wasm(
        '(module (import "env" "g" (global i32)) (global (mut i32) (i32.const 0)) (func (export "f")))'
    )
    assert f"{GLOBAL_EXPORT_PREFIX}1" in exports_of(export_mutable_globals(wasm))


def test_a_module_without_an_export_section_gets_one_in_order():
    wasm = wasmtime.wat2wasm("(module (global (mut i32) (i32.const 5)) (func) (start 0))")
    assert list(exports_of(export_mutable_globals(wasm))) == [f"{GLOBAL_EXPORT_PREFIX}0"]


def test_already_exported_globals_are_left_alone():
    wasm = wasmtime.wat2wasm('(module (global (export "sp") (mut i32) (i32.const 5)))')
    assert export_mutable_globals(wasm) == bytes(wasm)


@pytest.mark.parametrize("data", [b"", b"garbage!", b"\0asm\x01\0\0\0\x07\x10"])
def test_malformed_bytes_raise_wasm_format_error(data):
    with pytest.raises(WasmFormatError):
        export_mutable_globals(data)
