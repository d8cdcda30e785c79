"""Faasm's HTTP API on the planner process, driven by Faasm's own client and by hand."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from faabric.testing.processes import process_cluster
from tests.conftest import wat
from tests.granules import wat_modules as m

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    with process_cluster(tmp_path_factory.mktemp("http"), workers=1, slots=4) as running:
        yield running


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def planner_message(http_type, payload: dict) -> bytes:
    return json.dumps({"http_type": http_type, "payload": json.dumps(payload)}).encode()


@pytest.fixture
def faasmctl(processes, tmp_path):
    """Run Faasm's own client against the planner, configured by an INI file."""
    binary = shutil.which("faasmctl") or os.path.join(os.path.dirname(sys.executable), "faasmctl")
    ini = tmp_path / "faasm.ini"
    ini.write_text(
        "[Faasm]\nupload_host = 127.0.0.1\n"
        f"upload_port = {processes.upload_port}\nplanner_host = 127.0.0.1\nplanner_port = {processes.http_port}\n"
    )
    env = {**os.environ, "FAASM_INI_FILE": str(ini)}

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([binary, *args], env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    return run


def test_faasmctl_uploads_and_invokes_a_function(faasmctl, tmp_path):
    module = tmp_path / "echo.wasm"
    module.write_bytes(wat(m.ECHO))
    faasmctl("upload.wasm", "demo", "echo", str(module))
    invoke = faasmctl("invoke", "demo", "echo", "--input-data", "hello from faasmctl")
    assert b"hello from faasmctl" in invoke.stdout
    assert b"Return value: \t\t\t0" in invoke.stdout


def test_faasmctl_invokes_an_mpi_world(faasmctl, tmp_path):
    from granules.toolchain import compile_wasm

    module = compile_wasm([EXAMPLES / "mpi" / "hello.c"], tmp_path / "mpi_hello.wasm")
    faasmctl("upload.wasm", "demo", "mpi_hello", str(module))
    invoke = faasmctl("invoke", "demo", "mpi_hello", "--mpi-world-size", "4")
    assert b"Hello from rank 0 of 4, got 123" in invoke.stdout


def test_execute_batch_by_number_then_poll_status_until_finished(processes):
    base = f"http://127.0.0.1:{processes.http_port}"
    assert http("PUT", f"{base}/f/demo/echo", wat(m.ECHO))[0] == 200
    request = {"appId": 4242, "user": "demo", "function": "echo",
               "messages": [{"id": 77, "appId": 4242, "user": "demo", "function": "echo",
                             "input_data": base64.b64encode(b"by number").decode()}]}
    status, body = http("POST", base + "/", planner_message(10, request))
    assert status == 200 and json.loads(body) == {"appId": 4242, "finished": False}
    for _ in range(100):
        status, body = http("POST", base + "/", planner_message("EXECUTE_BATCH_STATUS", {"appId": 4242, "expectedNumMessages": 1}))
        if status == 200 and json.loads(body)["finished"]:
            break
        time.sleep(0.05)
    result = json.loads(body)["messageResults"][0]
    assert result["output_data"] == "by number" and result["returnValue"] == 0 and result["id"] == 77
    assert result["finish_ts"] >= result["start_ts"] > 0


@pytest.mark.parametrize(
    "body, code, text",
    [
        (b"{not json", 400, b"Bad request"),
        (planner_message("EXECUTE_BATCH_STATUS", {"appId": 999999, "expectedNumMessages": 1}), 500, b"App not registered in results"),
        (planner_message(10, {"messages": [{"input_data": "!!!not base64"}]}), 400, b"Bad batch request"),
        (planner_message("NO_SUCH_TYPE", {}), 400, b"Unsupported http_type"),
    ],
)
def test_bad_requests_get_clear_errors_and_the_api_keeps_serving(processes, body, code, text):
    base = f"http://127.0.0.1:{processes.http_port}"
    status, answer = http("POST", base + "/", body)
    assert status == code and text in answer
    assert http("GET", base + "/ping") == (200, b"PONG")


def test_uploading_invalid_wasm_is_refused(processes):
    status, body = http("PUT", f"http://127.0.0.1:{processes.upload_port}/f/demo/junk", b"not wasm")
    assert status == 400 and b"InvalidFunctionError" in body
