"""The ``faabric`` command line: compile, run, upload, invoke and benchmark."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shlex
import sys
from pathlib import Path

import click

from faabric.cluster import CallResult, LocalCluster
from faabric.config import FunctionLimits, SystemConfig, parse_size
from faabric.cli_cluster import planner_option
from faabric.exceptions import FaabricError

EXIT_ERROR = 1


def _run_async(coro):
    import uvloop

    return uvloop.run(coro)


def _cli_errors(fn):
    """Report FaabricErrors as one line on stderr (tracebacks only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except (FaabricError, OSError) as error:
            if debug:
                raise
            click.echo(f"faabric: error: {type(error).__name__}: {error}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


def _limits(config: SystemConfig, memory_limit: str | None, time_limit: float | None) -> FunctionLimits | None:
    if memory_limit is None and time_limit is None:
        return None
    return FunctionLimits(
        memory_bytes=parse_size(memory_limit) if memory_limit else config.limits.memory_bytes,
        time_seconds=time_limit if time_limit is not None else config.limits.time_seconds,
    )


def _emit(result: CallResult) -> None:
    """Forward the granule's stdout/stderr, then its output bytes; exit with its code.

    For an MPI world of several ranks, each rank's lines are prefixed ``[rank]``,
    and the exit code is the first non-zero one of any rank.
    """
    ranks = result.ranks if len(result.ranks) > 1 else ()
    if ranks:
        for rank, rank_result in enumerate(ranks):
            sys.stdout.buffer.write(_prefixed(rank, rank_result.stdout))
            sys.stderr.buffer.write(_prefixed(rank, rank_result.stderr))
    else:
        sys.stdout.buffer.write(result.stdout)
        sys.stderr.buffer.write(result.stderr)
    sys.stdout.buffer.write(result.output)
    sys.stdout.flush()
    sys.stderr.flush()
    if result.error is not None:
        raise result.error
    codes = [r.return_value or 0 for r in ranks] or [result.return_value or 0]
    sys.exit(next((code for code in codes if code), 0) & 0xFF)


def _prefixed(rank: int, data: bytes) -> bytes:
    return b"".join(b"[%d] %s" % (rank, line) for line in data.splitlines(keepends=True))


def _world(ranks: int) -> dict:
    """``invoke`` arguments for an MPI world of ``ranks`` ranks (none for a single call)."""
    return {"mpi_world_size": ranks} if ranks > 1 else {}


def _mpi_option(fn):
    return click.option(
        "-n", "--np", "ranks", type=click.IntRange(min=1), default=1, help="MPI world size (ranks), like mpirun -n."
    )(fn)


def _cluster(config: SystemConfig, planner: str | None):
    """The embedded runtime, or a connection to the planner of a running cluster."""
    if planner:
        from faabric.client import connect

        return connect(planner)
    return LocalCluster(config=config)


def _input_bytes(data: str | None, input_file: Path | None) -> bytes:
    if input_file is not None:
        return input_file.read_bytes()
    return (data or "").encode()


limit_options = [
    click.option("--memory-limit", help="Memory cap of each granule, e.g. 64M."),
    click.option("--time-limit", type=float, help="Wall-time limit of each call, in seconds."),
]


def with_limits(fn):
    for option in reversed(limit_options):
        fn = option(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """faabric-py: run WebAssembly functions as isolated, snapshot-started granules."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# No click options but --help: click would split clang flags such as -fopenmp into -f -o penmp.
@main.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True, "help_option_names": ["--help"]}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
@_cli_errors
def cc(args: tuple[str, ...]) -> None:
    """Compile C/C++ SOURCES (or objects) to wasm32-wasi with -o OUTPUT; other arguments go to clang."""
    from granules.toolchain import compile_wasm

    args_list, output = list(args), None
    if "-o" in args_list:
        at = args_list.index("-o")
        if at + 1 >= len(args_list):
            raise click.UsageError("-o needs a file name")
        output = Path(args_list[at + 1])
        del args_list[at:at + 2]
    inputs = {".c", ".cc", ".cpp", ".cxx", ".o", ".a"}
    sources = [a for a in args_list if not a.startswith("-") and Path(a).suffix in inputs]
    flags = [a for a in args_list if a not in sources]
    if not sources:
        raise click.UsageError("no C or C++ source given")
    click.echo(compile_wasm(sources, output, flags))


def _build(program: Path, config: SystemConfig) -> Path:
    """``program`` itself if it is wasm, else its compiled form (cached by source hash)."""
    if program.suffix == ".wasm":
        return program
    from granules.toolchain import compile_wasm

    source = program.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = config.cache_dir / "build" / f"{program.stem}-{digest}.wasm"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        openmp = b"#pragma omp" in source or b"<omp.h>" in source
        compile_wasm([program], target, ["-fopenmp"] if openmp else [])
    return target


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--input", "data", help="Input data for the call.")
@click.option("--input-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--omp-threads", type=click.IntRange(min=1), help="OpenMP threads (default: OMP_NUM_THREADS).")
@_mpi_option
@with_limits
@click.argument("program", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@_cli_errors
def run(data, input_file, omp_threads, ranks, memory_limit, time_limit, program: Path, args) -> None:
    """Run PROGRAM (.wasm, or .c/.cpp compiled first) once on the embedded runtime."""
    config = SystemConfig.from_env()
    env = {k: v for k, v in os.environ.items() if k.startswith("OMP_")}  # OpenMP settings travel with the call
    if omp_threads:
        env["OMP_NUM_THREADS"] = str(omp_threads)
    wasm = _build(program, config)
    limits = _limits(config, memory_limit, time_limit)

    async def go() -> CallResult:
        async with LocalCluster(config=config) as cluster:
            name = "".join(c if c.isalnum() or c in "_.-" else "_" for c in program.stem)
            await cluster.upload("local", name, wasm, limits)
            return await cluster.invoke(
                "local", name, _input_bytes(data, input_file), cmdline=shlex.join(args), env=env,
                raise_on_error=False, **_world(ranks),
            )

    _emit(_run_async(go()))


@main.command()
@planner_option
@with_limits
@click.argument("user")
@click.argument("function")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_cli_errors
def upload(planner, memory_limit, time_limit, user: str, function: str, file: Path) -> None:
    """Store FILE as USER/FUNCTION: in $FAABRIC_HOME, or on the cluster of --planner."""
    config = SystemConfig.from_env()
    wasm = _build(file, config)

    async def go() -> None:
        async with _cluster(config, planner) as cluster:
            await cluster.upload(user, function, wasm, _limits(config, memory_limit, time_limit))

    _run_async(go())
    click.echo(f"uploaded {user}/{function}")


@main.command()
@planner_option
@click.option("--input", "data", help="Input data for the call.")
@click.option("--input-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cmdline", default="", help="Command line (argv after the function name).")
@_mpi_option
@click.argument("user")
@click.argument("function")
@_cli_errors
def invoke(planner, data, input_file, cmdline: str, ranks: int, user: str, function: str) -> None:
    """Run the uploaded function USER/FUNCTION once (embedded, or on --planner's cluster)."""
    config = SystemConfig.from_env()

    async def go() -> CallResult:
        async with _cluster(config, planner) as cluster:
            return await cluster.invoke(
                user, function, _input_bytes(data, input_file), cmdline=cmdline, raise_on_error=False,
                **_world(ranks),
            )

    _emit(_run_async(go()))


@main.group()
def bench() -> None:
    """Benchmarks that print a table (and with --json, one JSON object last)."""


def _register_commands() -> None:
    from faabric.bench import commands
    from faabric.cli_cluster import COMMANDS

    for command in commands():
        bench.add_command(command)
    for command in COMMANDS:
        command.callback = _cli_errors(command.callback)
        main.add_command(command)


_register_commands()
