"""CLI commands of a real cluster: ``faabric planner``, ``faabric worker``, ``faabric status``."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from faabric.config import SystemConfig

log = logging.getLogger("faabric")

DEFAULT_PLANNER_PORT = 8011
DEFAULT_HTTP_PORT = 8080


def planner_option(fn):
    """``--planner tcp://HOST:PORT`` (or ``FAABRIC_PLANNER``): use a real cluster."""
    return click.option(
        "--planner", envvar="FAABRIC_PLANNER", default=None, metavar="tcp://HOST:PORT",
        help="Planner of a running cluster (default: the embedded runtime).",
    )(fn)


async def _serve_until_signalled(start, stop) -> None:
    """Start a service, wait for SIGTERM or SIGINT, then stop it cleanly."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await start()
    try:
        await stopping.wait()
        log.info("signal received, shutting down")
    finally:
        await stop()


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s", force=True)


@click.command()
@click.option("--bind", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PLANNER_PORT, show_default=True, help="ZeroMQ port for workers and clients.")
@click.option("--http-port", default=DEFAULT_HTTP_PORT, show_default=True, help="Faasm HTTP API port (0: any free port).")
@click.option("--upload-port", type=int, default=None, help="A second HTTP port, like Faasm's upload server.")
@click.option("--policy", type=click.Choice(["bin-pack", "compact"]), default="bin-pack", show_default=True)
@click.option("--host-timeout", default=3.0, show_default=True, help="Seconds without keep-alive before a host is dropped.")
@click.option("--redis", envvar="FAABRIC_REDIS", default=None, metavar="redis://HOST:PORT/DB",
              help="Global state tier behind the HTTP state API.")
def planner(
    bind: str, port: int, http_port: int, upload_port: int | None, policy: str, host_timeout: float, redis: str | None
) -> None:
    """Run the planner: host registry, scheduling, results, uploads, HTTP API."""
    import uvloop

    from faabric.http_api import HttpApi
    from faabric.remote import PlannerService

    _setup_logging()
    config = SystemConfig.from_env(**({"redis_url": redis} if redis else {}))
    service = PlannerService(config, policy=policy, host_timeout=host_timeout)
    api = HttpApi(service)

    async def start() -> None:
        address = await service.start(f"tcp://{bind}:{port}")
        ports = await api.start(bind, [http_port] + ([upload_port] if upload_port is not None else []))
        print(f"planner ready: {address} http={','.join(map(str, ports))}", flush=True)

    async def stop() -> None:
        await api.stop()
        await service.stop()

    uvloop.run(_serve_until_signalled(start, stop))


@click.command()
@click.option("--planner", envvar="FAABRIC_PLANNER", required=True, metavar="tcp://HOST:PORT", help="The planner to join.")
@click.option("--redis", envvar="FAABRIC_REDIS", default=None, metavar="redis://HOST:PORT/DB", help="Global state tier.")
@click.option("--slots", type=int, envvar="FAABRIC_SLOTS", default=None, help="Calls this host runs at once.")
@click.option("--advertise", default=None, help="Name this host is known by (default: the hostname).")
@click.option(
    "--peer-address", envvar="FAABRIC_PEER_ADDRESS", default=None, metavar="HOST",
    help="Address other workers reach this one at, for MPI between hosts (default: the hostname).",
)
@click.option("--peer-bind", envvar="FAABRIC_PEER_BIND", default="0.0.0.0", show_default=True, help="Interface for peers.")
@click.option("--peer-port", type=int, envvar="FAABRIC_PEER_PORT", default=0, help="Port for peers (default: any free).")
def worker(
    planner: str, redis: str | None, slots: int | None, advertise: str | None,
    peer_address: str | None, peer_bind: str, peer_port: int,
) -> None:
    """Run a worker host that joins PLANNER and runs the calls it is given."""
    import socket

    import uvloop

    from faabric.remote import WorkerService, default_host_id

    _setup_logging()
    overrides = {"slots": slots} if slots else {}
    if redis:
        overrides["redis_url"] = redis
    config = SystemConfig.from_env(**overrides)
    peers = (peer_bind, peer_port, peer_address or socket.gethostname())
    service = WorkerService(config, planner, default_host_id(advertise), peers)

    async def start() -> None:
        await service.start()
        print(f"worker ready: {service.host_id}", flush=True)

    uvloop.run(_serve_until_signalled(start, service.stop))


@click.command()
@planner_option
def status(planner: str | None) -> None:
    """Show a cluster's hosts, slots in use, queued and running calls, and functions."""
    import uvloop

    from faabric.client import connect

    if planner is None:
        raise click.UsageError("status needs --planner (or FAABRIC_PLANNER)")

    async def fetch() -> dict:
        async with connect(planner, request_timeout=5.0) as cluster:
            return await cluster.status()

    info = uvloop.run(fetch())
    click.echo(f"{'host':<32} {'used':>5} {'slots':>6}")
    for host, slots in sorted(info["hosts"].items()):
        click.echo(f"{host:<32} {slots['used']:>5} {slots['slots']:>6}")
    click.echo(f"queued calls: {info['queued']}   running calls: {info['running']}")
    click.echo(f"functions: {', '.join(info['functions']) or '(none)'}")


COMMANDS = [planner, worker, status]
