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

import wasmtime

from faabric.config import FunctionLimits, SystemConfig
from faabric.exceptions import InvalidFunctionError
from faabric.function_store import FunctionStore
from faabric.messages import Message
from granules.context import ACTIVE_CALL, ActiveCall
from granules.engine import ModuleError, WasmEngine
from granules.granule import Granule, ProtoFunction

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


class WasmRuntime:
    """Executes calls of uploaded wasm functions; one per host."""

    def __init__(self, engine: WasmEngine, functions: FunctionStore, config: SystemConfig) -> None:
        self.engine = engine
        self.functions = functions
        self.config = config
        self._protos: dict[str, tuple[object, ProtoFunction]] = {}
        self._lock = threading.Lock()

    def validate(self, user: str, function: str, wasm: bytes, limits: FunctionLimits) -> ProtoFunction:
        """Compile and prepare ``wasm``; raise InvalidFunctionError if it cannot run."""
        try:
            return ProtoFunction(self.engine, f"{user}/{function}", wasm, limits)
        except ModuleError as error:
            raise InvalidFunctionError(user, function, error.reason) from None

    def prepare(self, user: str, function: str) -> ProtoFunction:
        """The current :class:`ProtoFunction` of ``user/function``."""
        name = f"{user}/{function}"
        version = self.functions.version(user, function)
        cached = self._protos.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            cached = self._protos.get(name)
            if cached is None or cached[0] != version:
                stored = self.functions.load(user, function)
                cached = (version, self.validate(user, function, stored.wasm, stored.limits or self.config.limits))
                self._protos[name] = cached
        return cached[1]

    def new_granule(self, message: Message, stdout=None, stderr=None) -> Granule:
        """A granule for ``message``, restored from its function's snapshot."""
        proto = self.prepare(message.user, message.function)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [message.function, *shlex.split(message.cmdline)]
        wasi.env = list(message.env.items())
        if stdout is not None:
            wasi.stdout_custom = stdout
        if stderr is not None:
            wasi.stderr_custom = stderr
        sandbox = self.config.sandbox_dir / message.user
        sandbox.mkdir(parents=True, exist_ok=True)
        wasi.preopen_dir(str(sandbox), "/")
        return Granule(proto, proto.limits, wasi, proto.snapshot)

    def execute(self, message: Message, context) -> None:
        """Run ``message`` to completion; fill in its return value, stdout and stderr.

        Raises:
            FaabricError subclasses: the function is missing or invalid, or the
                granule trapped, ran out of time or memory.
        """
        stdout, stderr = _Capture(), _Capture()
        try:
            granule = self.new_granule(message, stdout, stderr)
            token = ACTIVE_CALL.set(ActiveCall(granule, message, context))
            try:
                message.return_value = granule.run_entry(message.func_ptr)
            finally:
                ACTIVE_CALL.reset(token)
        finally:
            message.stdout = stdout.value()
            message.stderr = stderr.value()

    def close(self) -> None:
        self._protos.clear()
