"""Small, pure rewrites of wasm binaries done before compiling them.

Snapshots must capture a module's mutable globals (``__stack_pointer`` and
friends), but wasm-ld does not export them. :func:`export_mutable_globals`
adds an export for each one, named ``__faabric_global_<index>``.
"""

from __future__ import annotations

from faabric.exceptions import WasmFormatError

GLOBAL_EXPORT_PREFIX = "__faabric_global_"
_MAGIC = b"\0asm\x01\0\0\0"
_EXPORT_SECTION = 7
# Where a new export section may go: after these ids, before all others (spec order).
_SECTIONS_BEFORE_EXPORT = {1, 2, 3, 4, 5, 13, 6}


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WasmFormatError("truncated LEB128 number")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _skip_name(data: bytes, pos: int) -> int:
    length, pos = _read_uleb(data, pos)
    return pos + length


def _skip_limits(data: bytes, pos: int) -> int:
    flags = data[pos]
    _, pos = _read_uleb(data, pos + 1)
    if flags & 1:
        _, pos = _read_uleb(data, pos)
    return pos


def _skip_const_expr(data: bytes, pos: int) -> int:
    while True:
        opcode = data[pos]
        pos += 1
        if opcode == 0x0B:  # end
            return pos
        if opcode in (0x41, 0x42, 0x23, 0xD2):  # i32/i64.const, global.get, ref.func
            _, pos = _read_uleb(data, pos)
        elif opcode == 0x43:
            pos += 4
        elif opcode == 0x44:
            pos += 8
        elif opcode == 0xD0:
            pos += 1
        elif opcode in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # extended-const arithmetic
            pass
        else:
            raise WasmFormatError(f"unsupported opcode {opcode:#x} in a constant expression")


def _sections(data: bytes) -> list[tuple[int, int, int, int]]:
    """(id, header start, body start, end) of every section."""
    if data[:8] != _MAGIC:
        raise WasmFormatError("not a wasm module (bad magic number or version)")
    found, pos = [], 8
    while pos < len(data):
        section_id = data[pos]
        size, body = _read_uleb(data, pos + 1)
        if body + size > len(data):
            raise WasmFormatError(f"section {section_id} runs past the end of the module")
        found.append((section_id, pos, body, body + size))
        pos = body + size
    return found


def export_mutable_globals(wasm: bytes) -> bytes:
    """Return ``wasm`` with every non-exported mutable global exported.

    Raises:
        WasmFormatError: the bytes are not a well-formed module.
    """
    try:
        return _export_mutable_globals(wasm)
    except IndexError:
        raise WasmFormatError("truncated module") from None


def _export_mutable_globals(wasm: bytes) -> bytes:
    sections = _sections(wasm)
    imported_globals = 0
    mutable: list[int] = []
    exported: set[int] = set()
    export_section = None
    for section_id, _, body, end in sections:
        if section_id == 2:
            count, pos = _read_uleb(wasm, body)
            for _ in range(count):
                pos = _skip_name(wasm, _skip_name(wasm, pos))
                kind = wasm[pos]
                pos += 1
                if kind in (0, 4):  # func, tag
                    pos += kind == 4
                    _, pos = _read_uleb(wasm, pos)
                elif kind == 1:  # table
                    pos = _skip_limits(wasm, pos + 1)
                elif kind == 2:  # memory
                    pos = _skip_limits(wasm, pos)
                elif kind == 3:  # global
                    pos += 2
                    imported_globals += 1
        elif section_id == 6:
            count, pos = _read_uleb(wasm, body)
            for index in range(count):
                if wasm[pos + 1]:
                    mutable.append(imported_globals + index)
                pos = _skip_const_expr(wasm, pos + 2)
        elif section_id == _EXPORT_SECTION:
            export_section = (body, end)
            count, pos = _read_uleb(wasm, body)
            for _ in range(count):
                pos = _skip_name(wasm, pos)
                kind = wasm[pos]
                index, pos = _read_uleb(wasm, pos + 1)
                if kind == 3:
                    exported.add(index)

    missing = [index for index in mutable if index not in exported]
    if not missing:
        return wasm
    entries = b"".join(
        _uleb(len(name)) + name + b"\x03" + _uleb(index)
        for index in missing
        for name in [f"{GLOBAL_EXPORT_PREFIX}{index}".encode()]
    )
    if export_section:
        count, pos = _read_uleb(wasm, export_section[0])
        body = _uleb(count + len(missing)) + wasm[pos : export_section[1]] + entries
    else:
        body = _uleb(len(missing)) + entries
    new_section = bytes([_EXPORT_SECTION]) + _uleb(len(body)) + body

    out = bytearray(wasm[:8])
    placed = False
    for section_id, start, _, end in sections:
        if section_id == _EXPORT_SECTION:
            out += new_section
            placed = True
            continue
        if not placed and section_id not in _SECTIONS_BEFORE_EXPORT and section_id != 0:
            out += new_section
            placed = True
        out += wasm[start:end]
    if not placed:
        out += new_section
    return bytes(out)
