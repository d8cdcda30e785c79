"""Benchmark commands (``faabric bench ...``).

Each prints an aligned table; with ``--json`` the last line of stdout is one
JSON object (see :mod:`faabric.bench.report`). Targets are shown with a
verdict but never make a command fail.
"""

from __future__ import annotations

import click


def commands() -> list[click.Command]:
    from faabric.bench.cluster import cluster_command
    from faabric.bench.invoke import invoke_command
    from faabric.bench.mpi import mpi_command
    from faabric.bench.omp import omp_command
    from faabric.bench.sgd import sgd_command
    from faabric.bench.startup import startup_command
    from faabric.bench.state import state_command

    return [startup_command, invoke_command, cluster_command, sgd_command, state_command, omp_command, mpi_command]
