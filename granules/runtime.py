"""The wasm executor: runs a :class:`~faabric.messages.Message` in a fresh granule.

:class:`WasmRuntime` is what a :class:`~faabric.host.Host` uses to execute
calls. It keeps one :class:`~granules.granule.ProtoFunction` per function
(rebuilt when the function is uploaded again) and starts every call from its
snapshot, with its own argv, environment, captured stdout/stderr and the
user's sandbox directory as the only filesystem it can see.
"""

from __future__ import annotations

import shlex
import threading
import time

import wasmtime

from faabric.config import FunctionLimits, SystemConfig
from faabric.exceptions import InvalidFunctionError
from faabric.function_store import FunctionStore
from faabric.messages import Message
from granules.context import ACTIVE_CALL, ActiveCall
from granules.engine import ModuleError, WasmEngine
from granules.granule import Granule, ProtoFunction
from openmp_shim.thread_call import run_thread_call
from openmp_shim.thread_wire import is_thread_call

MAX_CAPTURED_OUTPUT = 16 << 20
_TRUNCATED = b"\n[faabric: output truncated]\n"


class _Capture:
    """Collects what a granule writes to stdout or stderr, up to a cap."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def __call__(self, data: bytes) -> None:
        if self.size < MAX_CAPTURED_OUTPUT:
            room = MAX_CAPTURED_OUTPUT - self.size
            self.chunks.append(data if len(data) <= room else data[:room] + _TRUNCATED)
        self.size += len(data)

    def value(self) -> bytes:
        return b"".join(self.chunks)


RECHECK_SECONDS = 1.0


class _CachedProto:
    __slots__ = ("proto", "version", "generation", "checked_at")

    def __init__(self, proto: ProtoFunction, version: object, generation: int, checked_at: float) -> None:
        self.proto, self.version, self.generation, self.checked_at = proto, version, generation, checked_at

    def fresh(self, now: float, generation: int) -> bool:
        return self.generation == generation and now - self.checked_at < RECHECK_SECONDS


class WasmRuntime:
    """Executes calls of uploaded wasm functions; one per host."""

    def __init__(self, engine: WasmEngine, functions: FunctionStore, config: SystemConfig) -> None:
        self.engine = engine
        self.functions = functions
        self.config = config
        self._protos: dict[str, _CachedProto] = {}
        self._sandboxes: dict[str, str] = {}
        self._lock = threading.Lock()

    def validate(self, user: str, function: str, wasm: bytes, limits: FunctionLimits) -> ProtoFunction:
        """Compile and prepare ``wasm``; raise InvalidFunctionError if it cannot run."""
        try:
            return ProtoFunction(self.engine, f"{user}/{function}", wasm, limits)
        except ModuleError as error:
            raise InvalidFunctionError(user, function, error.reason) from None

    def prepare(self, user: str, function: str) -> ProtoFunction:
        """The current :class:`ProtoFunction` of ``user/function``.

        An upload through this process's store is seen at once; one made by
        another process is seen within :data:`RECHECK_SECONDS`.
        """
        name = f"{user}/{function}"
        cached = self._protos.get(name)
        now = time.monotonic()
        if cached is not None and cached.fresh(now, self.functions.generation):
            return cached.proto
        with self._lock:
            generation = self.functions.generation
            version = self.functions.version(user, function)
            cached = self._protos.get(name)
            if cached is None or cached.version != version:
                stored = self.functions.load(user, function)
                proto = self.validate(user, function, stored.wasm, stored.limits or self.config.limits)
                cached = _CachedProto(proto, version, generation, now)
                self._protos[name] = cached
            else:
                cached.generation, cached.checked_at = generation, now
        return cached.proto

    def _sandbox(self, user: str) -> str:
        path = self._sandboxes.get(user)
        if path is None:
            directory = self.config.sandbox_dir / user
            directory.mkdir(parents=True, exist_ok=True)
            path = self._sandboxes[user] = str(directory)
        return path

    def new_granule(self, message: Message, stdout=None, stderr=None) -> Granule:
        """A granule for ``message``, restored from its function's snapshot.

        An idle granule of the same function is reused when there is one: it
        is reset to the snapshot (memory remapped, globals restored, a fresh
        WASI context), which is cheaper than a new Store and instance.
        """
        proto = self.prepare(message.user, message.function)
        wasi = self._wasi(proto, message, stdout, stderr)
        idle = proto.idle
        while idle:
            try:
                granule = idle.pop()
            except IndexError:  # another thread took the last one
                break
            granule.reset(wasi, proto.snapshot)
            return granule
        return Granule(proto, proto.limits, wasi, proto.snapshot)

    def _wasi(self, proto: ProtoFunction, message: Message, stdout, stderr) -> wasmtime.WasiConfig:
        """The call's WASI context, with only what the module can use (see ProtoFunction.wasi_imports)."""
        wasi = wasmtime.WasiConfig()
        uses = proto.wasi_imports
        if "args_get" in uses:
            wasi.argv = [message.function, *shlex.split(message.cmdline)] if message.cmdline else [message.function]
        if message.env and "environ_get" in uses:
            wasi.env = list(message.env.items())
        if "fd_write" in uses:
            if stdout is not None:
                wasi.stdout_custom = stdout
            if stderr is not None:
                wasi.stderr_custom = stderr
        if "fd_prestat_get" in uses:  # how wasi-libc finds its directories: only then is one needed
            wasi.preopen_dir(self._sandbox(message.user), "/")
        return wasi

    def execute(self, message: Message, context) -> None:
        """Run ``message`` to completion; fill in its return value, stdout and stderr.

        Raises:
            FaabricError subclasses: the function is missing or invalid, or the
                granule trapped, ran out of time or memory.
        """
        stdout, stderr = _Capture(), _Capture()
        try:
            if is_thread_call(message):  # an OpenMP thread of a call elsewhere, from the snapshot it carries
                proto = self.prepare(message.user, message.function)
                wasi = self._wasi(proto, message, stdout, stderr)
                message.return_value = run_thread_call(proto, wasi, message, context)
                return
            granule = self.new_granule(message, stdout, stderr)
            token = ACTIVE_CALL.set(ActiveCall(granule, message, context))
            try:
                message.return_value = granule.run_entry(message.func_ptr)
            finally:
                ACTIVE_CALL.reset(token)
            granule.release(self.config.cores * 2)
        finally:
            message.stdout = stdout.value()
            message.stderr = stderr.value()

    def close(self) -> None:
        """Drop every granule and snapshot now, while the interpreter is fully alive."""
        for cached in self._protos.values():
            cached.proto.close()
        self._protos.clear()
