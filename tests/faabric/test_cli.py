"""The ``faabric`` command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def faabric_cli(tmp_path):
    env = {**os.environ, "FAABRIC_HOME": str(tmp_path / "home")}

    def run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "faabric", *args], env=env, capture_output=True, input=input, timeout=120
        )

    return run


def write_wat(path: Path, text: str) -> Path:
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def test_run_compiles_c_and_forwards_stdout_then_output(faabric_cli):
    done = faabric_cli("run", str(EXAMPLES / "hello.c"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"Hello from a granule!\nhello"


def test_run_passes_input_and_args(faabric_cli, tmp_path):
    done = faabric_cli("run", "--input", "ping", str(EXAMPLES / "echo.c"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"ping"


def test_run_exits_with_the_function_return_code(faabric_cli, tmp_path):
    module = write_wat(tmp_path / "code.wasm", '(module (memory (export "memory") 1) (func (export "main") (result i32) (i32.const 42)))')
    assert faabric_cli("run", str(module)).returncode == 42


def test_cc_writes_a_wasm_module(faabric_cli, tmp_path):
    out = tmp_path / "square.wasm"
    done = faabric_cli("cc", "-o", str(out), str(EXAMPLES / "square.c"))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\0asm"


def test_upload_then_invoke_chains_uploaded_functions(faabric_cli):
    for name in ("square", "fanout"):
        done = faabric_cli("upload", "demo", name, str(EXAMPLES / f"{name}.c"))
        assert done.returncode == 0, done.stderr
    done = faabric_cli("invoke", "demo", "fanout", "--input", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(b"285")


@pytest.mark.parametrize(
    "args, message",
    [
        (["invoke", "demo", "missing"], b"FunctionNotFoundError: function not found: demo/missing"),
        (["run", "{bad}"], b"InvalidFunctionError"),
        (["run", "{trap}"], b"GuestTrap"),
        (["run", "--time-limit", "0.2", "{loop}"], b"GranuleTimeoutError"),
    ],
)
def test_errors_are_one_line_on_stderr_without_traceback(faabric_cli, tmp_path, args, message):
    files = {
        "{bad}": tmp_path / "bad.wasm",
        "{trap}": write_wat(tmp_path / "trap.wasm", '(module (memory (export "memory") 1) (func (export "_start") unreachable))'),
        "{loop}": write_wat(tmp_path / "loop.wasm", '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))'),
    }
    files["{bad}"].write_bytes(b"not wasm at all")
    done = faabric_cli(*[str(files.get(a, a)) for a in args])
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert b"Traceback" not in done.stderr


def test_python_dash_m_and_help_work(faabric_cli):
    done = faabric_cli("--help")
    assert done.returncode == 0
    for command in (b"cc", b"run", b"upload", b"invoke", b"bench"):
        assert command in done.stdout
