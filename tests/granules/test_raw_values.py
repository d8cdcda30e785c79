"""Host calls' raw value arrays: arguments read and results written in place, by address."""

import ctypes

import pytest
from wasmtime import _ffi as ffi

from granules import raw


def _values(count: int):
    array = (ffi.wasmtime_val_raw_t * count)()
    return array, ctypes.addressof(array)


def test_arguments_are_read_by_type_from_each_16_byte_slot():
    array, address = _values(4)
    array[0].i32, array[1].i64, array[2].f32, array[3].f64 = -7, 1 << 40, 1.5, -2.25
    assert raw.args_reader("iIfF")(address) == (-7, 1 << 40, 1.5, -2.25)


@pytest.mark.parametrize(("code", "result", "field", "expected"), [
    ("i", 0xFFFFFFFF, "i32", -1),  # an unsigned 32-bit value wraps as the i32 it is
    ("i", -5, "i32", -5),
    ("I", -1, "i64", -1),
    ("f", 0.5, "f32", 0.5),
    ("F", 3.25, "f64", 3.25),
])
def test_a_result_lands_in_the_first_slot_wrapped_to_its_width(code, result, field, expected):
    array, address = _values(2)
    array[1].i64 = 99
    raw.result_writer(code)(address, result)
    assert getattr(array[0], field) == expected
    assert array[1].i64 == 99  # nothing past the result's slot is touched
