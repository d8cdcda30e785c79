"""The WASI view of a granule: argv, environment, captured stdio, a per-user sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from granules.toolchain import compile_wasm

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(scope="module")
def wasi_probe(tmp_path_factory) -> Path:
    return compile_wasm([PROGRAMS / "wasi_probe.c"], tmp_path_factory.mktemp("wasm") / "wasi_probe.wasm")


async def test_argv_env_and_stdio_reach_the_granule(cluster, wasi_probe):
    await cluster.upload("alice", "probe", wasi_probe)
    result = await cluster.invoke("alice", "probe", cmdline="one 'two words'", env={"GREETING": "hi"})
    stdout = result.stdout.decode()
    assert "argv[0]=probe\nargv[1]=one\nargv[2]=two words\n" in stdout
    assert "GREETING=hi\n" in stdout
    assert result.stderr == b"this goes to stderr\n"
    assert result.output == b"done"


async def test_files_land_in_the_users_sandbox_and_nothing_outside_is_visible(cluster, wasi_probe, config):
    await cluster.upload("alice", "probe", wasi_probe)
    await cluster.upload("bob", "probe", wasi_probe)
    alice = await cluster.invoke("alice", "probe")
    assert (config.sandbox_dir / "alice" / "note.txt").read_text() == "written by a granule"
    assert not (config.sandbox_dir / "bob" / "note.txt").exists()
    assert alice.stdout.count(b"refused") == 3, alice.stdout
    assert b"OPENED" not in alice.stdout
