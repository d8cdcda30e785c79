"""The interrupt checks woven into modules, and the time limits they enforce."""

from __future__ import annotations

import pytest
import wasmtime

from faabric.config import FunctionLimits
from faabric.exceptions import GranuleTimeoutError, WasmFormatError
from granules.engine import WasmEngine
from granules.granule import Granule, ProtoFunction
from granules.instrument import INTERRUPT_EXPORT, LOOP_CHECK_EVERY, START_EXPORT, _check_points, add_interrupt_checks
from granules.toolchain import compile_wasm
from granules.wasm_binary import _read_uleb, _sections
from tests.conftest import wat

ENTRY_CHECK_TAIL = b"\x04\x40\x00\x0b"  # (global.get $flag) if; unreachable; end
LOOP_CHECK_HEAD = b"\x02\x40\x20"  # block; local.get $counter (the pass count gating the look at the flag)
FLAG_LOOK = b"\x41\x00\xfe\x10"  # i32.const 0; i32.atomic.load (then global.get $flag)


def engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_threads = config.wasm_simd = config.wasm_bulk_memory = config.wasm_multi_memory = True
    return wasmtime.Engine(config)


def checked_sites(wasm: bytes) -> tuple[int, int]:
    """(check sites found by decoding ``wasm``, how many of them already hold the check)."""
    sites = held = 0
    for section_id, _, body, _ in _sections(wasm):
        if section_id != 10:
            continue
        count, pos = _read_uleb(wasm, body)
        for _ in range(count):
            size, start = _read_uleb(wasm, pos)
            pos = start + size
            for number, point in enumerate(_check_points(wasm, start, pos)[2]):
                sites += 1
                if number:
                    held += wasm[point : point + 3] == LOOP_CHECK_HEAD and FLAG_LOOK in wasm[point : point + 32]
                else:
                    held += wasm[point] == 0x23 and wasm[point + 2 : point + 6] == ENTRY_CHECK_TAIL
    return sites, held


def run_wasi(wasm: bytes, tmp_path, argv=("prog",)) -> str:
    """Run ``wasm`` in plain wasmtime with WASI; its stdout."""
    eng = engine()
    module = wasmtime.Module(eng, wasm)
    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    store = wasmtime.Store(eng)
    wasi = wasmtime.WasiConfig()
    wasi.argv = list(argv)
    out = tmp_path / "stdout"
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_trap:
        assert exit_trap.code == 0
    return out.read_text()


LOOPS_WAT = """(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (func $helper (param i32) (result i32)
    (block $out (result i32)
      (loop $l (result i32)
        (br_if $out (i32.const 1) (i32.eqz (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $l))))
  (func (export "_start") (local $i i32) (local $v v128)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
    (drop (i32x4.extract_lane 2 (local.get $v)))
    (i32.atomic.store (i32.const 16) (i32.const 1))
    (atomic.fence)
    (memory.fill (i32.const 32) (i32.const 0) (i32.const 8))
    (if (i32.const 1)
      (then (loop $a (br_if $a (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3)))))
      (else (loop $b)))
    (block $x (block $y (br_table $x $y $x (i32.const 0))))
    (drop (select (result f64) (f64.const 1) (f64.const 2) (i32.const 0)))
    (drop (call $helper (i32.const 5)))))
"""


def test_every_function_and_loop_gets_a_check():
    original = wat(LOOPS_WAT)
    instrumented = add_interrupt_checks(original)
    sites, held = checked_sites(instrumented)
    assert sites == 2 + 3  # two functions, three loops
    assert held == sites
    assert checked_sites(original) == (sites, 0)
    module = wasmtime.Module(engine(), instrumented)
    exports = {item.name: item.type for item in module.exports}
    assert isinstance(exports[INTERRUPT_EXPORT], wasmtime.GlobalType) and exports[INTERRUPT_EXPORT].mutable
    assert [m.name for m in module.exports if isinstance(m.type, wasmtime.MemoryType)] == ["memory"]  # none added


POKED_LOOP_WAT = """(module
  (import "env" "poke" (func $poke))
  (memory (export "memory") 1)
  (func (export "run") (param $from i32) (local $i i32)
    (local.set $i (local.get $from))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (i32.store (i32.const 0) (local.get $i))
      (if (i32.eq (local.get $i) (i32.const 10)) (then (call $poke)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))))
"""


def test_a_loop_sees_the_raised_flag_within_loop_check_every_passes():
    eng = engine()
    module = wasmtime.Module(eng, add_interrupt_checks(wat(POKED_LOOP_WAT)))
    store = wasmtime.Store(eng)
    holder = {}

    def poke():
        holder["instance"].exports(store)[INTERRUPT_EXPORT].set_value(store, wasmtime.Val.i32(1))

    instance = wasmtime.Instance(store, module, [wasmtime.Func(store, wasmtime.FuncType([], []), poke)])
    holder["instance"] = instance
    with pytest.raises(wasmtime.Trap):
        instance.exports(store)["run"](store, 0)
    passes = int.from_bytes(instance.exports(store)["memory"].read(store, 0, 4), "little")
    assert 10 < passes <= 10 + LOOP_CHECK_EVERY  # stopped, and within one round of the pass counter


def test_a_module_without_memory_globals_or_exports_gets_them_in_order():
    instrumented = add_interrupt_checks(wat("(module (func (loop)))"))
    assert [section_id for section_id, *_ in _sections(instrumented)] == [1, 3, 5, 6, 7, 10]
    assert [item.name for item in wasmtime.Module(engine(), instrumented).exports] == [INTERRUPT_EXPORT]


@pytest.mark.parametrize("memories", ["(memory 0)", '(import "env" "m" (memory 0))', "(memory i64 1)"])
def test_without_a_page_of_32_bit_memory_0_the_checks_get_a_memory_of_their_own(memories):
    instrumented = add_interrupt_checks(wat(f"(module {memories} (func (loop)))"))
    module = wasmtime.Module(engine(), instrumented)
    assert len([i for i in [*module.imports, *module.exports] if isinstance(i.type, wasmtime.MemoryType)]) <= 1
    assert checked_sites(instrumented) == (2, 2)


def test_a_start_function_is_unhooked_and_exported():
    instrumented = add_interrupt_checks(wat('(module (memory (export "memory") 1) (func $init) (start $init))'))
    assert 8 not in [section_id for section_id, *_ in _sections(instrumented)]
    assert START_EXPORT in [item.name for item in wasmtime.Module(engine(), instrumented).exports]


@pytest.mark.parametrize(
    "wasm",
    [
        bytes.fromhex("0061736d 01000000 010401600000 03020100 0a0501 03 00 fb 0b"),  # a GC (0xfb) instruction
        bytes.fromhex("0061736d 01000000 010401600000 03020100 0a0601 04 00 fc 63 0b"),  # an unknown 0xfc one
        bytes(wat(f'(module (memory (export "{INTERRUPT_EXPORT}") 1))')),  # the reserved name taken
        bytes.fromhex("0061736d 01000000 010401600000 03020100 0a0601 04 00 41"),  # truncated
    ],
)
def test_what_the_decoder_cannot_handle_raises_wasm_format_error(wasm):
    with pytest.raises(WasmFormatError):
        add_interrupt_checks(wasm)


C_PROGRAM = r"""
#include <stdio.h>
#include <wasm_simd128.h>
int main(void) {
    double sum = 0.0;
    for (int i = 0; i < 100000; i++) { double x = (i + 0.5) / 100000; sum += 4.0 / (1.0 + x * x); }
    float data[64]; for (int i = 0; i < 64; i++) data[i] = (float)i;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < 64; i += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(data + i), wasm_f32x4_splat(2.0f)));
    v128_t shuffled = wasm_i32x4_shuffle(acc, acc, 3, 2, 1, 0);
    printf("pi %.6f simd %.1f %.1f\n", sum / 100000, wasm_f32x4_extract_lane(acc, 0), wasm_f32x4_extract_lane(shuffled, 0));
    return 0;
}
"""
CXX_PROGRAM = r"""
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>
int main() {
    std::vector<int> v; for (int i = 0; i < 1000; i++) v.push_back((i * 7919) % 1000);
    std::sort(v.begin(), v.end());
    std::map<std::string, int> m; for (int i = 0; i < 50; i++) m[std::to_string(i % 7)] += i;
    std::printf("%d %d %zu %d\n", v.front(), v.back(), m.size(), m["3"]);
}
"""


@pytest.mark.parametrize("name, source", [("prog.c", C_PROGRAM), ("prog.cpp", CXX_PROGRAM)])
def test_compiled_programs_keep_their_output_once_instrumented(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(source)
    original = compile_wasm([path]).read_bytes()
    instrumented = add_interrupt_checks(original)
    sites, held = checked_sites(instrumented)
    assert sites == held > 0
    expected = run_wasi(original, tmp_path)
    assert expected and run_wasi(instrumented, tmp_path) == expected


def test_an_openmp_program_is_instrumented_and_validates(tmp_path):
    path = tmp_path / "omp.c"
    path.write_text(
        "#include <omp.h>\n#include <stdio.h>\nint main(void) { double s = 0;\n"
        "#pragma omp parallel for reduction(+:s)\nfor (int i = 0; i < 1000; i++) s += i;\n"
        'printf("%f\\n", s); return 0; }\n'
    )
    instrumented = add_interrupt_checks(compile_wasm([path], extra_flags=["-fopenmp"]).read_bytes())
    sites, held = checked_sites(instrumented)
    assert sites == held > 0
    wasmtime.Module.validate(engine(), instrumented)


SPIN_C = r"""
volatile double sink;
int main(void) {
    double x = 0.0;
    for (;;) { x += 1.0; if (x < 0.0) sink = x; }
}
"""


async def test_an_infinite_float_loop_in_c_is_stopped_by_the_time_limit(cluster, tmp_path):
    path = tmp_path / "spin.c"
    path.write_text(SPIN_C)
    await cluster.upload("demo", "spin", compile_wasm([path]).read_bytes(), FunctionLimits(time_seconds=0.3))
    with pytest.raises(GranuleTimeoutError) as caught:
        await cluster.invoke("demo", "spin")
    assert caught.value.limit_seconds == 0.3


@pytest.mark.parametrize(
    "body",
    [
        "(loop $l (br $l))",
        "(loop $o (loop $i (br $i)) (br $o))",  # the inner loop never leaves
        "(block (loop $l (result i32) (br $l)) (drop))",
        "(if (i32.const 1) (then (loop $l (br $l))))",
        "(call $again)",  # recursion without a loop: the check at function entry
    ],
)
async def test_every_kind_of_endless_guest_is_stopped_by_the_time_limit(cluster, body):
    module = f"""(module (memory (export "memory") 1)
      (func $again (return_call $again))
      (func (export "_start") {body}))"""
    await cluster.upload("demo", "endless", wat(module), FunctionLimits(time_seconds=0.2))
    with pytest.raises(GranuleTimeoutError):
        await cluster.invoke("demo", "endless")


async def test_an_endless_start_function_is_stopped_by_the_time_limit(cluster):
    module = """(module (memory (export "memory") 1)
      (func $init (loop $l (br $l))) (start $init) (func (export "_start")))"""
    with pytest.raises(GranuleTimeoutError):
        await cluster.upload("demo", "stuck", wat(module), FunctionLimits(time_seconds=0.2))


def test_an_interrupted_granule_runs_again_once_reset(tmp_path):
    eng = WasmEngine(tmp_path)
    try:
        limits = FunctionLimits(time_seconds=30)
        proto = ProtoFunction(eng, "demo/count", wat('(module (memory (export "memory") 1)'
                                                     ' (func (export "_start") (result i32) (i32.const 7)))'), limits)
        granule = Granule(proto, limits, wasmtime.WasiConfig(), proto.snapshot)
        granule.interrupt()
        assert granule.interrupted
        with pytest.raises(GranuleTimeoutError):
            granule.run_entry()
        granule.reset(wasmtime.WasiConfig(), proto.snapshot)
        assert not granule.interrupted
        assert granule.run_entry() == 7
    finally:
        eng.close()
