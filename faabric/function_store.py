"""Uploaded functions on disk: ``<home>/functions/<user>/<function>/``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from faabric.config import FunctionLimits
from faabric.exceptions import ConfigError, FunctionNotFoundError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
WASM_FILE = "function.wasm"
LIMITS_FILE = "limits.json"


def check_name(kind: str, name: str) -> str:
    """Users and functions are plain names: letters, digits, ``_ . -``; no paths."""
    if not _NAME.match(name) or ".." in name:
        raise ConfigError(f"invalid {kind} name {name!r}: use letters, digits, '_', '.', '-'")
    return name


@dataclasses.dataclass(frozen=True)
class StoredFunction:
    wasm: bytes
    limits: FunctionLimits | None


class FunctionStore:
    """Reads and writes functions under one directory; safe across processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.generation = 0  # bumped by every save through this object

    def _dir(self, user: str, function: str) -> Path:
        return self.root / check_name("user", user) / check_name("function", function)

    def save(self, user: str, function: str, wasm: bytes, limits: FunctionLimits | None = None) -> None:
        """Store ``wasm`` (and optional limits) as ``user/function``, replacing any old one."""
        directory = self._dir(user, function)
        directory.mkdir(parents=True, exist_ok=True)
        limits_path = directory / LIMITS_FILE
        if limits is None:
            limits_path.unlink(missing_ok=True)
        else:
            _atomic_write(limits_path, json.dumps(dataclasses.asdict(limits)).encode())
        _atomic_write(directory / WASM_FILE, wasm)
        self.generation += 1

    def version(self, user: str, function: str) -> tuple[int, int, int]:
        """A cheap token that changes whenever the function is uploaded again."""
        try:
            stat = os.stat(self._dir(user, function) / WASM_FILE)
        except FileNotFoundError:
            raise FunctionNotFoundError(user, function) from None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def exists(self, user: str, function: str) -> bool:
        return (self._dir(user, function) / WASM_FILE).exists()

    def load(self, user: str, function: str) -> StoredFunction:
        directory = self._dir(user, function)
        try:
            wasm = (directory / WASM_FILE).read_bytes()
        except FileNotFoundError:
            raise FunctionNotFoundError(user, function) from None
        limits_path = directory / LIMITS_FILE
        limits = FunctionLimits(**json.loads(limits_path.read_text())) if limits_path.exists() else None
        return StoredFunction(wasm, limits)

    def list(self) -> list[tuple[str, str]]:
        """Every stored ``(user, function)``."""
        return sorted(
            (path.parent.parent.name, path.parent.name) for path in self.root.glob(f"*/*/{WASM_FILE}")
        )


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
