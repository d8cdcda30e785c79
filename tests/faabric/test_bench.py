"""The benchmark commands run end to end at tiny sizes and end with one JSON object.

No timing thresholds here: only that every metric is measured and positive.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from faabric.cli import main

STARTUP_KEYS = {
    "compile_wat_ms",
    "cache_load_wat_ms",
    "engine_start_ms",
    "restore_p50_us",
    "restore_p99_us",
    "restore_runtime_p50_us",
    "restore_runtime_p99_us",
    "raw_instance_p50_us",
    "restore_vs_raw",
    "idle_virtual_gib",
    "idle_maps",
    "max_granules",
    "address_space_limit_est",
    "clang_ms",  # the C toolchain is part of the set-up: these must be measured
    "compile_ms",
    "cache_load_ms",
}
# Idle RSS can be ~0 when freed memory is reused.
STARTUP_OPTIONAL = {"idle_rss_kb", "idle_fds", "max_granules_fill_s"}

INVOKE_KEYS = {
    "batch_calls_per_s",
    "concurrent_calls_per_s",
    "seq_p50_us",
    "seq_p99_us",
    "seq_run_p50_us",
    "fan_out_ms",
    "fan_out_calls_per_s",
    "direct_p50_us",
    "raw_call_p50_us",
    "raw_calls_per_s",
    "seq_vs_raw",
    "batch_vs_raw",
}


def run_bench(*args: str) -> dict:
    result = CliRunner().invoke(main, ["bench", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"faabric bench {args[0]}"), "the table comes first"
    report = json.loads(lines[-1])
    assert report["benchmark"] == args[0]
    assert [row["key"] for row in report["rows"]] == list(report["metrics"])
    return report


def assert_positive(metrics: dict, keys: set[str]) -> None:
    for key in keys:
        value = metrics[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)


def test_bench_startup_reports_every_metric():
    report = run_bench("startup", "--iterations", "20", "--granules", "50", "--max-granules", "200",
                       "--compile-repeats", "1")
    metrics = report["metrics"]
    assert STARTUP_KEYS | STARTUP_OPTIONAL <= set(metrics)
    assert_positive(metrics, STARTUP_KEYS)
    for key in STARTUP_OPTIONAL:
        assert metrics[key] is None or metrics[key] >= 0, (key, metrics[key])
    assert metrics["max_granules"] == 200  # the cap, far below any real limit
    rows = {row["key"]: row for row in report["rows"]}
    assert rows["restore_p50_us"]["verdict"] in ("meets", "misses")
    assert rows["restore_p50_us"]["ratio"], "no ratio to the anchor"
    assert report["params"]["max_granules"] == 200


def test_bench_invoke_reports_every_metric():
    report = run_bench("invoke", "--iterations", "20", "--calls", "100", "--concurrency", "8", "--fan-out", "20")
    metrics = report["metrics"]
    assert INVOKE_KEYS <= set(metrics)
    assert_positive(metrics, INVOKE_KEYS)
    assert metrics["errors"] == 0
    rows = {row["key"]: row for row in report["rows"]}
    assert rows["batch_calls_per_s"]["verdict"] in ("meets", "misses")


def test_bench_cluster_starts_real_processes_and_reports_every_metric():
    report = run_bench("cluster", "--workers", "1", "--pings", "20", "--calls", "20", "--mpi-iterations", "20")
    metrics = report["metrics"]
    keys = {"start_up_s", "raw_zmq_rtt_p50_us", "planner_rtt_p50_us", "planner_rtt_p99_us",
            "invoke_p50_us", "invoke_p99_us", "invoke_calls_per_s", "raw_zmq_rtt_8b_us", "mpi_rtt_8b_us",
            "raw_zmq_bandwidth_1mib_mb_s", "mpi_bandwidth_1mib_mb_s"}
    assert keys <= set(metrics)
    assert_positive(metrics, keys)
    assert metrics["errors"] == 0


@pytest.mark.parametrize("command", ["startup", "invoke", "cluster"])
def test_bench_commands_are_registered_with_json_option(command):
    result = CliRunner().invoke(main, ["bench", command, "--help"])
    assert result.exit_code == 0
    assert "--json" in result.output
