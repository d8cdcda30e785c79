"""``faabric bench state``: push and pull throughput of the Redis global tier vs raw redis-py.

A redis-server is started for the run. For values of 64 B, 64 KiB and 4 MiB,
the local tier pushes (``flag_dirty`` + ``push``) and pulls (``pull``: fetch
and write into the value's memory file) one value per operation; the
baseline is raw redis-py on the same server, one pipeline per value with
the same commands (``SET`` / ``GET``) and the same bytes. For the 4 MiB
value a partial push of one dirty 64 KiB chunk is compared with a raw
pipelined ``SETRANGE`` of 64 KiB at the same offsets.

The baseline is the faster of redis-py's two command packers: its default
(hiredis) one, and its pure-Python one, which sends a large value without
copying it (hiredis's copies a 4 MiB value slowly). Rounds of ours and of
the baselines alternate, so drift hits all alike; each side's median round
is kept.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import click

from faabric.bench.report import HIGHER, Report, json_option, progress

SIZES = {"64B": 64, "64KiB": 64 << 10, "4MiB": 4 << 20}
TARGET_RATIO = 0.8
BYTES_PER_ROUND = 384 << 20
"""Each round moves about this much (at most 3000 operations), so the 4 MiB rounds last long enough to time."""


def _ops_for(size: int, scale: float) -> int:
    return max(10, int(min(3000, BYTES_PER_ROUND // size) * scale))


def _rate(run: Callable[[], None], ops: int) -> float:
    started = time.perf_counter()
    run()
    return ops / (time.perf_counter() - started)


def _compare(
    ours: Callable[[], None], baselines: list[Callable[[], None]], ops: int, rounds: int
) -> tuple[float, float]:
    """Median rates of ``ours`` and of the fastest baseline, over rounds that alternate between them."""
    ours_rates: list[float] = []
    raw_rates: list[list[float]] = [[] for _ in baselines]
    for _ in range(rounds):
        ours_rates.append(_rate(ours, ops))
        for rates, baseline in zip(raw_rates, baselines):
            rates.append(_rate(baseline, ops))
    return statistics.median(ours_rates), max(statistics.median(rates) for rates in raw_rates)


def _raw_clients(url: str) -> list:
    """redis-py with its default command packer, and with its pure-Python one."""
    import redis
    from redis.connection import Encoder, PythonRespSerializer

    python_packer = PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode)
    return [redis.Redis.from_url(url), redis.Redis.from_url(url, command_packer=python_packer)]


def measure(rounds: int, scale: float) -> dict:
    from faabric.state import CHUNK_SIZE, LocalState, StateKey
    from faabric.state.redis_tier import VALUE_PREFIX, RedisGlobalTier
    from faabric.testing.redis import redis_server

    rates: dict = {}
    with redis_server() as url:
        local = LocalState(RedisGlobalTier(url))
        raws = _raw_clients(url)
        try:
            for label, size in SIZES.items():
                ops = _ops_for(size, scale)
                progress(f"{label}: {ops:,} pushes and pulls, ours and raw redis-py, {rounds} rounds")
                key = StateKey("bench", f"value-{label}")
                data = bytes(range(256)) * (size // 256) if size >= 256 else b"x" * size
                local.write(key, data)
                raw_key = VALUE_PREFIX + "raw-" + label

                def ours_push() -> None:
                    for _ in range(ops):
                        local.flag_dirty(key, size)
                        local.push(key)

                def raw_push(raw) -> Callable[[], None]:
                    def run() -> None:
                        for _ in range(ops):
                            pipe = raw.pipeline(transaction=False)
                            pipe.set(raw_key, data)
                            pipe.execute()
                    return run

                def ours_pull() -> None:
                    for _ in range(ops):
                        local.pull(key)

                def raw_pull(raw) -> Callable[[], None]:
                    def run() -> None:
                        for _ in range(ops):
                            pipe = raw.pipeline(transaction=False)
                            pipe.get(raw_key)
                            pipe.execute()
                    return run

                for name, ours, baseline in (("push", ours_push, raw_push), ("pull", ours_pull, raw_pull)):
                    rates[(name, label)] = (*_compare(ours, [baseline(raw) for raw in raws], ops, rounds), size)

            label, size = "4MiB", SIZES["4MiB"]
            key = StateKey("bench", f"value-{label}")
            ops = _ops_for(CHUNK_SIZE, scale)
            chunk = bytes(CHUNK_SIZE)
            raw_key = VALUE_PREFIX + "raw-" + label
            progress(f"4MiB partial push of one chunk: {ops:,} operations")

            def ours_partial() -> None:
                for i in range(ops):
                    local.flag_dirty(key, size, (i % 64) * CHUNK_SIZE, CHUNK_SIZE)
                    local.push_partial(key)

            def raw_partial(raw) -> Callable[[], None]:
                def run() -> None:
                    for i in range(ops):
                        pipe = raw.pipeline(transaction=False)
                        pipe.setrange(raw_key, (i % 64) * CHUNK_SIZE, chunk)
                        pipe.execute()
                return run

            ours_rate, raw_rate = _compare(ours_partial, [raw_partial(raw) for raw in raws], ops, rounds)
            rates[("push_partial", label)] = (ours_rate, raw_rate, CHUNK_SIZE)
        finally:
            for raw in raws:
                raw.close()
            local.close()
    return rates


def build_report(rates: dict, rounds: int) -> Report:
    report = Report("state", {"rounds": rounds, "backend": "redis-server (local)"})
    for (name, label), (ours, raw, size) in rates.items():
        unit_note = f"{ours * size / 1e6:.1f} MB/s" if size >= 4096 else None
        report.add(f"{name}_{label}_ops", f"{name} {label}: ours", ours, "ops/s", better=HIGHER, note=unit_note)
        report.add(f"{name}_{label}_raw_ops", f"{name} {label}: raw redis-py, pipelined", raw, "ops/s", better=HIGHER)
        report.add(
            f"{name}_{label}_ratio", f"{name} {label}: ours / raw", ours / raw, "x",
            better=HIGHER, target=TARGET_RATIO,
        )
    report.note("one value per operation on both sides; partial push sends one dirty 64 KiB chunk of 4 MiB")
    report.note("medians of the rounds; raw is the faster of redis-py's hiredis and pure-Python command packers")
    return report


@click.command("state")
@json_option
@click.option("--rounds", default=5, show_default=True, type=click.IntRange(1), help="Rounds per measurement (median kept).")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.001, 100.0),
              help="Multiply the number of operations (small for a quick run).")
def state_command(json_output, rounds, scale) -> None:
    """Push/pull throughput of the Redis global tier against raw redis-py."""
    rates = measure(rounds, scale)
    build_report(rates, rounds).emit(json_output)
