"""The compiler wrapper behind ``faabric cc``: real clang, real wasm32-wasi."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from faabric.exceptions import ToolchainError
from granules import toolchain
from granules.toolchain import compile_wasm, include_dirs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

C_PROGRAM = """
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <faasm.h>

int main(void)
{
    atomic_int n = 1;
    atomic_fetch_add(&n, 1);
    char text[32];
    snprintf(text, sizeof(text), "%.1f", sqrt((double)n * 8));
    faasmSetOutput(text, (long)strlen(text));
    return 0;
}
"""

CXX_PROGRAM = """
#include <cstdio>
#include <string>
#include <vector>
#include <faasm/faasm.h>
#include <faasm/input.h>

int main()
{
    std::vector<std::string> words{"hello", "from", "C++"};
    std::string joined;
    for (const auto& word : words) joined += word + " ";
    faasm::setStringOutput(joined.c_str());
    std::printf("%s\\n", joined.c_str());
    return 0;
}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def _env_imports(wasm: Path) -> set[str]:
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(wasm))
    return {i.name for i in module.imports if i.module == "env"}


def _exports(wasm: Path) -> set[str]:
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(wasm))
    return {e.name for e in module.exports}


@pytest.fixture(autouse=True)
def fresh_probe():
    """Toolchain checks are cached per clang; tests that fake a broken one need a clean cache."""
    toolchain._probe.cache_clear()
    yield
    toolchain._probe.cache_clear()


def test_include_dirs_start_with_the_faasm_headers():
    dirs = include_dirs()
    assert (dirs[0] / "faasm.h").is_file()
    assert (dirs[0] / "faasm" / "host_interface.h").is_file()
    assert all(d.is_dir() for d in dirs)


def test_compiles_c(tmp_path):
    source = _write(tmp_path, "prog.c", C_PROGRAM)
    wasm = compile_wasm([source])
    assert wasm == tmp_path / "prog.wasm"
    assert wasm.read_bytes().startswith(b"\0asm")
    assert _env_imports(wasm) == {"__faasm_write_output"}
    assert {"_start", "memory", "__indirect_function_table"} <= _exports(wasm)


def test_compiles_cxx_to_a_chosen_output(tmp_path):
    source = _write(tmp_path, "prog.cpp", CXX_PROGRAM)
    wasm = compile_wasm([source], tmp_path / "out" / "cxx.wasm")
    assert wasm == tmp_path / "out" / "cxx.wasm"
    assert wasm.read_bytes().startswith(b"\0asm")
    assert "__faasm_write_output" in _env_imports(wasm)


def test_glibc_only_header_is_an_error_not_a_fallback(tmp_path):
    # Present in /usr/include (glibc) but not in /usr/include/wasm32-wasi.
    source = _write(tmp_path, "glibc.c", "#include <argp.h>\nint main(void) { return 0; }\n")
    with pytest.raises(ToolchainError, match="'argp.h' file not found"):
        compile_wasm([source])


def test_syntax_error_carries_clang_diagnostics(tmp_path):
    source = _write(tmp_path, "broken.c", "int main(void) { return 0 }\n")
    with pytest.raises(ToolchainError) as info:
        compile_wasm([source])
    message = str(info.value)
    assert "broken.c" in message
    assert "error: expected ';'" in message


def test_missing_clang_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    source = _write(tmp_path, "prog.c", C_PROGRAM)
    with pytest.raises(ToolchainError) as info:
        compile_wasm([source])
    message = str(info.value)
    assert "clang" in message
    assert "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32" in message


def test_missing_cxx_library_names_the_cxx_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain, "LIBCXX_INCLUDE", tmp_path / "no-libcxx")
    source = _write(tmp_path, "prog.cc", CXX_PROGRAM)
    with pytest.raises(ToolchainError, match="libc\\+\\+-dev-wasm32"):
        compile_wasm([source])


def test_missing_wasi_libc_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain, "WASI_LIB", tmp_path / "no-wasi-libc")
    source = _write(tmp_path, "prog.c", C_PROGRAM)
    with pytest.raises(ToolchainError, match="wasi-libc"):
        compile_wasm([source])


def test_every_build_has_real_atomics_and_links_the_guest_runtimes(tmp_path):
    plain = toolchain.build_command([tmp_path / "x.c"])
    assert {"-matomics", "-mbulk-memory"} <= set(plain)  # MPI ranks share rings, OpenMP threads share pages
    assert str(toolchain.MPI_GUEST_RUNTIME) in plain and str(toolchain.OPENMP_GUEST_RUNTIME) not in plain
    openmp = toolchain.build_command([tmp_path / "x.c"], extra_flags=["-fopenmp"])
    assert {"-matomics", "-fopenmp", str(toolchain.OPENMP_GUEST_RUNTIME), str(toolchain.MPI_GUEST_RUNTIME)} <= set(openmp)
    objects_only = toolchain.build_command([tmp_path / "x.c"], extra_flags=["-c"])
    assert str(toolchain.MPI_GUEST_RUNTIME) not in objects_only


def test_programs_without_mpi_keep_no_trace_of_its_runtime(tmp_path):
    source = _write(tmp_path, "prog.c", C_PROGRAM)
    imports = {item.name for item in wasmtime.Module.from_file(wasmtime.Engine(), str(compile_wasm([source]))).imports}
    assert not {name for name in imports if "mpi" in name.lower()}


@pytest.mark.parametrize(
    "name, imports",
    [
        ("hello", {"__faasm_write_output"}),
        ("echo", {"__faasm_read_input", "__faasm_write_output"}),
        ("square", {"__faasm_read_input", "__faasm_write_output"}),
        ("fanout", {"__faasm_chain_name", "__faasm_await_call_output"}),
        ("chain_ptr", {"__faasm_chain_ptr", "__faasm_await_call", "__faasm_await_call_output"}),
        ("zygote", {"__faasm_read_input", "__faasm_write_output"}),
    ],
)
def test_examples_compile_to_faasm_imports(tmp_path, name, imports):
    wasm = compile_wasm([EXAMPLES / f"{name}.c"], tmp_path / f"{name}.wasm")
    assert imports <= _env_imports(wasm)
    assert "__indirect_function_table" in _exports(wasm)
    assert ("_faasm_zygote" in _exports(wasm)) == (name == "zygote")
