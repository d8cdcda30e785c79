"""WAT guests shared by tests and benchmarks (no C toolchain needed)."""

from __future__ import annotations


def _escape(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def fan_out_wat(child: str, child_input: bytes = b"") -> str:
    """A guest that chains ``child`` N times by name (N: its u32 input), awaits
    every call, and outputs the sum of their return codes as an i32.

    Each chained call gets ``child_input`` as its input.
    """
    name = child.encode() + b"\x00"
    return f"""(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (import "env" "__faasm_chain_name" (func $chain (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{_escape(name)}")
  (data (i32.const 512) "{_escape(child_input)}")
  (func (export "_start") (local $n i32) (local $i i32) (local $sum i32)
    (drop (call $read_input (i32.const 0) (i32.const 4)))
    (local.set $n (i32.load (i32.const 0)))
    (if (i32.gt_u (local.get $n) (i32.const 15000)) (then unreachable))  ;; ids fit below 64 KiB
    (block $done (loop $chain_all
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))
                 (call $chain (i32.const 16) (i32.const 512) (i32.const {len(child_input)})))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $chain_all)))
    (local.set $i (i32.const 0))
    (block $done (loop $await_all
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum)
        (call $await (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $await_all)))
    (i32.store (i32.const 8) (local.get $sum))
    (call $write_output (i32.const 8) (i32.const 4))))
"""
