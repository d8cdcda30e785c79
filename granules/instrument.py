"""Interrupt checks woven into a module before it is compiled.

Wall-time limits need running guest code to stop when told. wasmtime's epoch
interruption does that with a check whose slow path is a call, which makes
Cranelift spill every float and vector value live across a loop (wasmtime
issue #7244: compute loops ran 1.7-2.7x slower). Instead,
:func:`add_interrupt_checks` gives the module one more mutable i32 global,
exported as :data:`INTERRUPT_EXPORT`, and checks it at the top of every
function body (``global.get $flag; if; unreachable; end``) and of every loop
(the same, after ``i32.const 0; i32.atomic.load; drop``). A loop looks at the
flag once every :data:`LOOP_CHECK_EVERY` passes, counted in a local of its
own the rewrite adds to each function: a register increment and test per pass
instead of two loads (memory-bound loops ran 5-10% faster). A watchdog sets the
flag to stop the guest (:class:`granules.engine.Watchdog`).

Why the atomic load: Cranelift's alias analysis takes a global's value as
unchanged where nothing in between may write memory, and folds a loop's
``global.get`` into an earlier one, so the loop would never see the
watchdog's write (even with other globals stored in between). An atomic
load counts as a memory fence there, so the ``global.get`` after it is
reloaded every time; it costs one L1 hit (a plain ``mov`` on x86-64). It
reads address 0 of memory 0, or, when the module has no memory with a page
from the start, of a private one-page memory added for it.

A start function would run inside instantiation, before the deadline is
armed: it is unhooked and exported as :data:`START_EXPORT`, for the granule
to call once it is.
"""

from __future__ import annotations

from faabric.exceptions import WasmFormatError
from granules.wasm_binary import _read_uleb, _sections, _skip_limits, _skip_name, _uleb

INTERRUPT_EXPORT = "__faabric_interrupt"
START_EXPORT = "__faabric_start"

_TYPE, _FUNCTION, _MEMORY, _GLOBAL, _EXPORT, _START, _CODE = 1, 3, 5, 6, 7, 8, 10
LOOP_CHECK_EVERY = 1024  # loop iterations (counted per function call) between two looks at the flag
# Where a new section goes: before the first section whose id is not in its set (spec order).
_BEFORE = {_MEMORY: {1, 2, 3, 4}, _GLOBAL: {1, 2, 3, 4, 5, 13}, _EXPORT: {1, 2, 3, 4, 5, 13, 6}}
_VALTYPES = frozenset({0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F})

# Immediates of one-byte opcodes.
_NONE, _LEB, _LEB2, _BLOCK, _LOOP, _MEMARG, _F32, _F64, _BR_TABLE, _SELECT_T, _HEAPTYPE, _TRY_TABLE = range(12)
_KIND: dict[int, int] = {op: _NONE for op in (0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1)}
_KIND.update({op: _NONE for op in range(0x45, 0xC5)})  # numeric and sign-extension operators
_KIND.update({op: _LEB for op in (0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24,
                                  0x25, 0x26, 0x3F, 0x40, 0x41, 0x42, 0xD2)})
_KIND.update({op: _MEMARG for op in range(0x28, 0x3F)})
_KIND.update({0x02: _BLOCK, 0x04: _BLOCK, 0x06: _BLOCK, 0x03: _LOOP, 0x11: _LEB2, 0x13: _LEB2, 0x43: _F32,
              0x44: _F64, 0x0E: _BR_TABLE, 0x1C: _SELECT_T, 0xD0: _HEAPTYPE, 0x1F: _TRY_TABLE})
# 0xFC (saturating truncation, bulk memory, tables): how many index immediates each sub-opcode has.
_FC_INDICES = {**dict.fromkeys(range(8), 0), 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}
# 0xFD (SIMD): sub-opcodes with a memarg, a memarg and a lane, a lane, or 16 immediate bytes.
_FD_MEMARG = frozenset({*range(0x00, 0x0C), 0x5C, 0x5D})
_FD_MEMARG_LANE = frozenset(range(0x54, 0x5C))
_FD_LANE = frozenset(range(0x15, 0x23))
_FD_BYTES16 = frozenset({0x0C, 0x0D})
_FD_LAST = 0x113  # relaxed SIMD ends here; everything not listed above has no immediate


def add_interrupt_checks(wasm: bytes) -> bytes:
    """Return ``wasm`` with an exported interrupt flag checked at every function entry and loop.

    Raises:
        WasmFormatError: the bytes are malformed, use an instruction this
            decoder does not know, or already export the reserved names.
    """
    try:
        return _instrument(bytes(wasm))
    except IndexError:
        raise WasmFormatError("truncated module") from None


def _instrument(wasm: bytes) -> bytes:
    sections = _sections(wasm)
    by_id = {section_id: (body, end) for section_id, _, body, end in sections if section_id}
    imported_globals, memories, first_memory = _imports(wasm, by_id.get(2))
    flag = imported_globals + _count(wasm, by_id.get(_GLOBAL))
    new: dict[int, bytes | None] = {_GLOBAL: _append(wasm, by_id.get(_GLOBAL), b"\x7f\x01\x41\x00\x0b")}  # mut i32 0
    if _MEMORY in by_id:
        count, pos = _read_uleb(wasm, by_id[_MEMORY][0])
        if first_memory is None and count:
            first_memory = pos
        memories += count
    fence = 0
    if first_memory is None or wasm[first_memory] & 0x04 or _read_uleb(wasm, first_memory + 1)[0] == 0:
        fence = memories  # no 32-bit memory 0 with a page from the start: a private one (one page, at most one)
        new[_MEMORY] = _append(wasm, by_id.get(_MEMORY), b"\x01\x01\x01")
    memarg = b"\x42" + _uleb(fence) + b"\x00" if fence else b"\x02\x00"  # align 4, offset 0
    entry_check = b"\x23" + _uleb(flag) + b"\x04\x40\x00\x0b"  # global.get $flag; if; unreachable; end
    loop_check = b"\x41\x00\xfe\x10" + memarg + b"\x1a" + entry_check  # i32.const 0; i32.atomic.load; drop
    param_counts = _param_counts(wasm, by_id.get(_TYPE), by_id.get(_FUNCTION))
    exports = [(INTERRUPT_EXPORT, 3, flag)]
    if _START in by_id:
        exports.append((START_EXPORT, 0, _read_uleb(wasm, by_id[_START][0])[0]))
        new[_START] = None
    new[_EXPORT] = _append(wasm, by_id.get(_EXPORT), *_export_entries(wasm, by_id.get(_EXPORT), exports))
    if _CODE in by_id:
        new[_CODE] = _instrument_code(wasm, *by_id[_CODE], param_counts, entry_check, loop_check)
    out = bytearray(wasm[:8])
    for section_id, start, _, end in sections:
        for missing in [i for i in (_MEMORY, _GLOBAL, _EXPORT) if i in new and i not in by_id]:
            if section_id and section_id not in _BEFORE[missing]:
                out += _section(missing, new.pop(missing))
        if section_id in new:
            body = new.pop(section_id)
            if body is not None:
                out += _section(section_id, body)
        else:
            out += wasm[start:end]
    for section_id in (_MEMORY, _GLOBAL, _EXPORT):
        if section_id in new:
            out += _section(section_id, new.pop(section_id))
    return bytes(out)


def _section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id]) + _uleb(len(body)) + body


def _count(wasm: bytes, span: tuple[int, int] | None) -> int:
    return _read_uleb(wasm, span[0])[0] if span else 0


def _append(wasm: bytes, span: tuple[int, int] | None, *entries: bytes) -> bytes:
    """A vector section's body with ``entries`` added at its end."""
    if span is None:
        return _uleb(len(entries)) + b"".join(entries)
    count, pos = _read_uleb(wasm, span[0])
    return _uleb(count + len(entries)) + wasm[pos : span[1]] + b"".join(entries)


def _imports(wasm: bytes, span: tuple[int, int] | None) -> tuple[int, int, int | None]:
    """Imported globals, imported memories, and where the first imported memory's limits start."""
    if span is None:
        return 0, 0, None
    count, pos = _read_uleb(wasm, span[0])
    globals_ = memories = 0
    first_memory = None
    for _ in range(count):
        pos = _skip_name(wasm, _skip_name(wasm, pos))
        kind = wasm[pos]
        pos += 1
        if kind == 0:
            _, pos = _read_uleb(wasm, pos)
        elif kind == 1:
            pos = _skip_limits(wasm, pos + 1)
        elif kind == 2:
            first_memory = pos if first_memory is None else first_memory
            pos = _skip_limits(wasm, pos)
            memories += 1
        elif kind == 3:
            pos += 2
            globals_ += 1
        elif kind == 4:
            _, pos = _read_uleb(wasm, pos + 1)
        else:
            raise WasmFormatError(f"unknown import kind {kind:#x}")
    return globals_, memories, first_memory


def _export_entries(wasm: bytes, span: tuple[int, int] | None, exports: list[tuple[str, int, int]]) -> list[bytes]:
    if span is not None:
        count, pos = _read_uleb(wasm, span[0])
        reserved = {name.encode() for name, _, _ in exports}
        for _ in range(count):
            length, start = _read_uleb(wasm, pos)
            if wasm[start : start + length] in reserved:
                raise WasmFormatError(f"the module already exports {wasm[start:start + length].decode()!r}")
            _, pos = _read_uleb(wasm, start + length + 1)
    return [_uleb(len(name)) + name.encode() + bytes([kind]) + _uleb(index) for name, kind, index in exports]


def _param_counts(wasm: bytes, types: tuple[int, int] | None, functions: tuple[int, int] | None) -> list[int]:
    """How many parameters each function the module defines takes (its first locals)."""
    per_type = []
    if types is not None:
        count, pos = _read_uleb(wasm, types[0])
        for _ in range(count):
            if wasm[pos] != 0x60:
                raise WasmFormatError(f"unsupported type form {wasm[pos]:#x}")
            params, pos = _read_uleb(wasm, pos + 1)
            per_type.append(params)
            results, pos = _read_uleb(wasm, pos + params)
            pos += results
    counts = []
    if functions is not None:
        count, pos = _read_uleb(wasm, functions[0])
        for _ in range(count):
            index, pos = _read_uleb(wasm, pos)
            counts.append(per_type[index])
    return counts


def _counted(loop_check: bytes, counter: int) -> bytes:
    """``loop_check`` run once every LOOP_CHECK_EVERY passes, counted in local ``counter``: a register
    increment and test instead of two loads, which memory-bound loops feel (stencils ran 10% slower)."""
    local = _uleb(counter)
    return (b"\x02\x40"  # block
            + b"\x20" + local + b"\x41\x01\x6a\x22" + local  # local.get; i32.const 1; i32.add; local.tee
            + b"\x41" + _sleb(LOOP_CHECK_EVERY - 1) + b"\x71"  # i32.const mask; i32.and
            + b"\x0d\x00"  # br_if 0: not this time
            + loop_check + b"\x0b")  # end


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            return bytes(out + bytes([byte]))
        out.append(byte | 0x80)


def _instrument_code(wasm: bytes, body: int, end: int, param_counts: list[int], entry_check: bytes,
                     loop_check: bytes) -> bytes:
    count, pos = _read_uleb(wasm, body)
    if count != len(param_counts):
        raise WasmFormatError(f"{count} function bodies for {len(param_counts)} functions")
    out = bytearray(_uleb(count))
    for index in range(count):
        size, start = _read_uleb(wasm, pos)
        pos = start + size
        if pos > end:
            raise WasmFormatError("a function body runs past the code section")
        groups, declared, points = _check_points(wasm, start, pos)
        counted_check = _counted(loop_check, param_counts[index] + declared)  # a new last local
        pieces = [_uleb(groups + 1), wasm[_read_uleb(wasm, start)[1] : points[0]], b"\x01\x7f", entry_check]
        last = points[0]
        for point in points[1:]:
            pieces += [wasm[last:point], counted_check]
            last = point
        pieces.append(wasm[last:pos])
        function = b"".join(pieces)
        out += _uleb(len(function)) + function
    if pos != end:
        raise WasmFormatError("the code section has bytes after its last function")
    return bytes(out)


def _skip_leb(wasm: bytes, pos: int) -> int:
    while wasm[pos] & 0x80:
        pos += 1
    return pos + 1


def _skip_memarg(wasm: bytes, pos: int) -> int:
    align, pos = _read_uleb(wasm, pos)
    if align & 0x40:  # multi-memory: a memory index follows
        pos = _skip_leb(wasm, pos)
    return _skip_leb(wasm, pos)


def _skip_blocktype(wasm: bytes, pos: int) -> int:
    return pos + 1 if wasm[pos] == 0x40 or wasm[pos] in _VALTYPES else _skip_leb(wasm, pos)


def _check_points(wasm: bytes, pos: int, end: int) -> tuple[int, int, list[int]]:
    """One function body's local groups, how many locals they declare, and the offsets where a check
    goes: after the locals, after each loop's block type."""
    groups, pos = _read_uleb(wasm, pos)
    declared = 0
    for _ in range(groups):
        group, pos = _read_uleb(wasm, pos)
        declared += group
        if wasm[pos] not in _VALTYPES:
            raise WasmFormatError(f"unsupported local type {wasm[pos]:#x}")
        pos += 1
    points = [pos]
    kinds, skip_leb = _KIND, _skip_leb
    while pos < end:
        opcode = wasm[pos]
        pos += 1
        kind = kinds.get(opcode)
        if kind == _NONE:
            continue
        if kind == _LEB:
            pos = skip_leb(wasm, pos)
        elif kind == _MEMARG:
            pos = _skip_memarg(wasm, pos)
        elif kind == _LOOP:
            pos = _skip_blocktype(wasm, pos)
            points.append(pos)
        elif kind == _BLOCK:
            pos = _skip_blocktype(wasm, pos)
        elif kind == _LEB2:
            pos = skip_leb(wasm, skip_leb(wasm, pos))
        elif kind == _F32:
            pos += 4
        elif kind == _F64:
            pos += 8
        elif kind == _BR_TABLE:
            labels, pos = _read_uleb(wasm, pos)
            for _ in range(labels + 1):
                pos = skip_leb(wasm, pos)
        elif kind == _SELECT_T:
            types, pos = _read_uleb(wasm, pos)
            pos += types
        elif kind == _HEAPTYPE:
            pos = _skip_blocktype(wasm, pos)  # a heap type is one byte or an s33, like a block type
        elif kind == _TRY_TABLE:
            pos = _skip_blocktype(wasm, pos)
            clauses, pos = _read_uleb(wasm, pos)
            for _ in range(clauses):
                catch_kind = wasm[pos]
                pos += 1
                if catch_kind in (0, 1):  # catch, catch_ref: a tag index, then the label
                    pos = skip_leb(wasm, pos)
                pos = skip_leb(wasm, pos)
        elif opcode == 0xFC:
            sub, pos = _read_uleb(wasm, pos)
            if sub not in _FC_INDICES:
                raise WasmFormatError(f"unknown instruction 0xfc {sub} at byte {pos}")
            for _ in range(_FC_INDICES[sub]):
                pos = skip_leb(wasm, pos)
        elif opcode == 0xFD:
            sub, pos = _read_uleb(wasm, pos)
            if sub in _FD_MEMARG:
                pos = _skip_memarg(wasm, pos)
            elif sub in _FD_MEMARG_LANE:
                pos = _skip_memarg(wasm, pos) + 1
            elif sub in _FD_LANE:
                pos += 1
            elif sub in _FD_BYTES16:
                pos += 16
            elif sub > _FD_LAST:
                raise WasmFormatError(f"unknown instruction 0xfd {sub} at byte {pos}")
        elif opcode == 0xFE:
            sub, pos = _read_uleb(wasm, pos)
            if sub == 0x03:  # atomic.fence
                pos += 1
            elif sub in (0x00, 0x01, 0x02) or 0x10 <= sub <= 0x4E:
                pos = _skip_memarg(wasm, pos)
            else:
                raise WasmFormatError(f"unknown instruction 0xfe {sub} at byte {pos}")
        else:
            raise WasmFormatError(f"unknown instruction {opcode:#x} at byte {pos - 1}")
    if pos != end or wasm[end - 1] != 0x0B:
        raise WasmFormatError("a function body does not end where its size says")
    return groups, declared, points
