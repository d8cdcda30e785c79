"""Small WAT guests used by the granule tests (no C toolchain needed)."""

from faabric.testing.guests import fan_out_wat

IO_IMPORTS = """
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
"""

ECHO = f"""(module {IO_IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 1024) (local.get $n)))
    (call $write_output (i32.const 1024) (local.get $n))))
"""

# Writes its input at address 4096 and outputs the 8 bytes that were there before.
LEAK_PROBE = f"""(module {IO_IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (call $write_output (i32.const 4096) (i32.const 8))
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 4096) (local.get $n)))))
"""

# The zygote fills memory and sets a mutable global; every call must see both.
ZYGOTE = f"""(module {IO_IMPORTS}
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))
  (func (export "_faasm_zygote") (result i32)
    (i32.store (i32.const 200) (i32.const 0x2a2a2a2a))
    (global.set $counter (i32.add (global.get $counter) (i32.const 7)))
    (i32.const 0))
  (func (export "_start")
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 204) (global.get $counter))
    (call $write_output (i32.const 200) (i32.const 8))))
"""

RETURNS_CODE = """(module
  (memory (export "memory") 1)
  (func (export "main") (result i32) (i32.const 42)))
"""

UNREACHABLE = """(module (memory (export "memory") 1) (func (export "_start") unreachable))"""

OUT_OF_BOUNDS = """(module (memory (export "memory") 1)
  (func (export "_start") (drop (i32.load (i32.const 0x7ffffff0)))))"""

INFINITE_LOOP = """(module (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))"""

MEMORY_BOMB = """(module (memory (export "memory") 1)
  (func (export "_start")
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
      (br $grow))))"""

NO_ENTRY = """(module (memory (export "memory") 1) (func (export "helper")))"""


def bad_host_call(function: str, args: str) -> str:
    """A guest that calls ``function`` with the i32 constants in ``args``."""
    signatures = {
        "__faasm_read_input": "(param i32 i32) (result i32)",
        "__faasm_write_output": "(param i32 i32)",
        "__faasm_chain_name": "(param i32 i32 i32) (result i32)",
        "__faasm_await_call": "(param i32) (result i32)",
        "__faasm_await_call_output": "(param i32 i32 i32) (result i32)",
    }
    consts = " ".join(f"(i32.const {a})" for a in args.split())
    has_result = "result" in signatures[function]
    call = f"(call $f {consts})"
    return f"""(module
  (import "env" "{function}" (func $f {signatures[function]}))
  (memory (export "memory") 1)
  (data (i32.const 16) "no-such-function\\00")
  (func (export "_start") {"(drop " + call + ")" if has_result else call}))"""


# Chains function-table entry 1 (by pointer) with input "ptr!", awaits its output.
CHAIN_BY_POINTER = f"""(module {IO_IMPORTS}
  (import "env" "__faasm_chain_ptr" (func $chain_ptr (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call_output" (func $await_output (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table (export "__indirect_function_table") 2 funcref)
  (elem (i32.const 1) $child)
  (data (i32.const 64) "ptr!")
  (func $child (result i32) (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 512) (local.get $n)))
    (i32.store8 (i32.const 512) (i32.const 80))
    (call $write_output (i32.const 512) (local.get $n))
    (i32.const 9))
  (func (export "_start") (local $id i32) (local $code i32)
    (local.set $id (call $chain_ptr (i32.const 1) (i32.const 64) (i32.const 4)))
    (local.set $code (call $await_output (local.get $id) (i32.const 128) (i32.const 132)))
    (i32.store (i32.const 136) (local.get $code))
    ;; output = child's output bytes followed by its return code
    (memory.copy (i32.const 140) (i32.load (i32.const 128)) (i32.load (i32.const 132)))
    (i32.store (i32.add (i32.const 140) (i32.load (i32.const 132))) (local.get $code))
    (call $write_output (i32.const 140) (i32.add (i32.load (i32.const 132)) (i32.const 4)))))
"""

# Spins for its input's count of iterations (used to see chained calls overlap).
SPIN = f"""(module {IO_IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (drop (call $read_input (i32.const 0) (i32.const 4)))
    (local.set $i (i32.load (i32.const 0)))
    (loop $spin (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $spin (local.get $i)))))
"""

# Chains "spin" N times by name (N from input; each spins 2**25 times), awaits all,
# outputs the sum of return codes.
FAN_OUT = fan_out_wat("spin", (1 << 25).to_bytes(4, "little"))
