"""``faabric bench sgd`` and ``faabric bench state`` run end to end at tiny sizes.

No timing thresholds: only that every metric is measured and the JSON is the last line.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from faabric.cli import main


def run_bench(*args: str) -> dict:
    result = CliRunner().invoke(main, ["bench", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bench_sgd_compares_shared_state_with_copying_at_each_worker_count():
    report = run_bench("sgd", "--workers", "1,2", "--epochs", "1", "--examples", "2000", "--features", "500", "--nnz", "8")
    metrics = report["metrics"]
    for workers in (1, 2):
        for name in ("shared_s", "copy_s", "speedup", "shared_accuracy", "copy_accuracy"):
            assert metrics[f"{name}_{workers}"] > 0, name
        for name in ("shared_mb", "copy_mb", "memory_saving"):
            assert metrics[f"{name}_{workers}"] >= 0, name
    assert report["params"]["global_tier"] == "redis"


def test_bench_state_compares_push_and_pull_with_raw_redis():
    report = run_bench("state", "--rounds", "1", "--scale", "0.01")
    metrics = report["metrics"]
    for name in ("push", "pull"):
        for label in ("64B", "64KiB", "4MiB"):
            assert metrics[f"{name}_{label}_ops"] > 0
            assert metrics[f"{name}_{label}_raw_ops"] > 0
            assert metrics[f"{name}_{label}_ratio"] > 0
    assert metrics["push_partial_4MiB_ratio"] > 0
