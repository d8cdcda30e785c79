"""``faabric run -n N`` and ``faabric bench mpi`` from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from faabric.bench.mpi import best_of, mpi_command
from faabric.cli import main
from tests.mpi_shim.conftest import EXAMPLES


def test_run_with_np_prints_every_ranks_lines_prefixed_by_rank(tmp_path, monkeypatch):
    monkeypatch.setenv("FAABRIC_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["run", "-n", "3", str(EXAMPLES / "hello.c")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"[{r}] Hello from rank {r} of 3, got 123" for r in range(3)]


def test_run_exits_non_zero_naming_the_rank_when_a_rank_fails(tmp_path, monkeypatch, mpi_wasm):
    monkeypatch.setenv("FAABRIC_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["run", "--np", "3", str(mpi_wasm("bad_input")), "abort"])
    assert result.exit_code == 1
    assert "MpiAbortError: MPI_Abort on rank 1" in result.output


def test_bench_mpi_reports_ratios_to_native_mpich_as_json():
    arguments = ["--json", "--iterations", "20", "--collective-iterations", "5", "--ranks", "2",
                 "--kernel-ranks", "2", "--stencil-size", "32", "--stencil-steps", "2",
                 "--transpose-size", "32", "--transpose-iterations", "1", "--repeats", "2"]
    result = CliRunner().invoke(mpi_command, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    rows = {row["key"]: row for row in report["rows"]}
    for key in ("latency_8B_us", "bandwidth_1048576B_MBps", "allreduce_2_us", "stencil_2_ms", "transpose_2_ms"):
        assert rows[key]["value"] > 0
        assert rows[key]["anchor"] == "MPICH" and rows[key]["ratio"] > 0
    assert not [note for note in report["notes"] if "differs from native" in note]


def test_repeated_runs_keep_each_rows_best_time_and_the_worst_error_count():
    runs = [{"pingpong_8": 2.0, "transpose": 5.0, "transpose_errors": 0.0, "stencil_checksum": 1.5},
            {"pingpong_8": 1.0, "transpose": 7.0, "transpose_errors": 3.0, "stencil_checksum": 2.5}]
    assert best_of(runs) == {"pingpong_8": 1.0, "transpose": 5.0, "transpose_errors": 3.0, "stencil_checksum": 1.5}
