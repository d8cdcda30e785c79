"""Runtime settings, gathered in one dataclass and read from the environment once."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from faabric.exceptions import ConfigError

_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str | int) -> int:
    """Parse ``512M``, ``64K``, ``1G`` or a plain byte count."""
    if isinstance(text, int):
        return text
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    suffix = raw[-1:] if raw[-1:] in _SIZE_SUFFIXES else ""
    number = raw[: len(raw) - len(suffix)]
    try:
        value = int(float(number) * _SIZE_SUFFIXES[suffix])
    except ValueError:
        raise ConfigError(f"not a size: {text!r} (use bytes or a K/M/G suffix)") from None
    if value <= 0:
        raise ConfigError(f"size must be positive: {text!r}")
    return value


@dataclasses.dataclass(frozen=True)
class FunctionLimits:
    """Per-function resource limits of a granule."""

    memory_bytes: int = 1 << 30
    time_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.memory_bytes < 1 << 16:
            raise ConfigError(f"memory limit must be at least 64K, got {self.memory_bytes}")
        if self.time_seconds <= 0:
            raise ConfigError(f"time limit must be positive, got {self.time_seconds}")


@dataclasses.dataclass(frozen=True)
class SystemConfig:
    """Settings of one process: where files live, host capacity, default limits."""

    home: Path = Path("~/.faabric").expanduser()
    cores: int = os.cpu_count() or 1
    slots: int = 64
    limits: FunctionLimits = FunctionLimits()
    chained_call_timeout: float = 300.0
    mpi_timeout: float = 300.0  # longest an MPI rank may wait for a message or a collective
    conf_flags: frozenset[str] = frozenset()
    omp_mode: str = "shared"  # OpenMP threads: "shared" memory, or "snapshot" (Faabric's diff/merge)
    omp_local_threads: int = 0  # OpenMP threads a team runs on the forking host (0: all); the rest go to the planner
    redis_url: str | None = None  # the global state tier; in memory when unset

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "SystemConfig":
        """Build the config from ``FAABRIC_*`` variables, then apply ``overrides``."""
        env = os.environ if env is None else env
        values: dict = {}
        if "FAABRIC_HOME" in env:
            values["home"] = Path(env["FAABRIC_HOME"]).expanduser()
        try:
            if "FAABRIC_CORES" in env:
                values["cores"] = int(env["FAABRIC_CORES"])
            if "FAABRIC_SLOTS" in env:
                values["slots"] = int(env["FAABRIC_SLOTS"])
            if "FAABRIC_MPI_TIMEOUT" in env:
                values["mpi_timeout"] = float(env["FAABRIC_MPI_TIMEOUT"])
            if env.get("FAABRIC_OMP_LOCAL_THREADS"):
                values["omp_local_threads"] = int(env["FAABRIC_OMP_LOCAL_THREADS"])
            limits = FunctionLimits(
                memory_bytes=parse_size(env.get("FAABRIC_MEMORY_LIMIT", str(FunctionLimits.memory_bytes))),
                time_seconds=float(env.get("FAABRIC_TIME_LIMIT", FunctionLimits.time_seconds)),
            )
        except ValueError as error:
            raise ConfigError(f"bad FAABRIC_* setting: {error}") from None
        values["limits"] = limits
        flags = env.get("FAABRIC_CONF_FLAGS", "")
        values["conf_flags"] = frozenset(f for f in flags.split(",") if f)
        if env.get("FAABRIC_REDIS"):
            values["redis_url"] = env["FAABRIC_REDIS"]
        if "FAABRIC_OMP_MODE" in env:
            values["omp_mode"] = env["FAABRIC_OMP_MODE"]
        values.update(overrides)
        config = cls(**values)
        if config.omp_mode not in ("shared", "snapshot"):
            raise ConfigError(f"omp_mode must be 'shared' or 'snapshot', got {config.omp_mode!r}")
        if config.omp_local_threads < 0:
            raise ConfigError(f"omp_local_threads must be 0 (no limit) or more, got {config.omp_local_threads}")
        if config.omp_local_threads and config.omp_mode != "snapshot":
            raise ConfigError("omp_local_threads needs omp_mode 'snapshot': threads on other hosts cannot share memory")
        if config.cores < 1 or config.slots < 1:
            raise ConfigError("cores and slots must be at least 1")
        return config

    @property
    def functions_dir(self) -> Path:
        return self.home / "functions"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def sandbox_dir(self) -> Path:
        return self.home / "sandbox"
