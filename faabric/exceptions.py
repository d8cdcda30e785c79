"""The one exception tree of faabric-py.

Every error the runtime raises is a :class:`FaabricError`. Errors carry the
facts that caused them as attributes, so callers can branch on fields instead
of parsing messages. Control flow that must never be swallowed by an
``except Exception`` (such as migration) derives from :class:`ExecutionInterrupt`.
"""

from __future__ import annotations

__all__ = [
    "HostLostError",
    "MalformedFrameError",
    "TransportError",
    "UnknownMethodError",
    "ModuleError",
    "WasmFormatError",
    "FaabricError",
    "ConfigError",
    "ToolchainError",
    "FunctionNotFoundError",
    "InvalidFunctionError",
    "SchedulingError",
    "NoCapacityError",
    "UnknownCallError",
    "CallTimeoutError",
    "GranuleError",
    "GuestTrap",
    "GuestMemoryError",
    "GranuleTimeoutError",
    "GranuleOutOfMemoryError",
    "MissingExportError",
    "ChainedCallError",
    "CallFailedError",
    "MpiError",
    "MpiAbortError",
    "MpiWorldFailedError",
    "MpiDeadlockError",
    "StateError",
    "StateValueError",
    "StateKeyError",
    "InvalidStateKeyError",
    "StateRangeError",
    "StateFileError",
    "StateLockTimeoutError",
    "StateBackendUnavailableError",
    "OpenMPError",
    "ExecutionInterrupt",
]


class FaabricError(Exception):
    """Base class of every error raised by faabric-py."""

    def to_wire(self) -> dict:
        """The error as plain data, to travel in a result message."""
        fields = {k: v for k, v in vars(self).items() if isinstance(v, (str, int, float, bool))}
        return {"kind": type(self).__name__, "message": str(self), "fields": fields}

    @staticmethod
    def from_wire(data: dict) -> "FaabricError":
        """Rebuild an error sent by :meth:`to_wire`, as its own class where known."""
        known = {c.__name__: c for c in _subclasses(FaabricError)}
        cls = known.get(data.get("kind", ""), CallFailedError)
        error = cls.__new__(cls)
        Exception.__init__(error, data.get("message", ""))
        error.__dict__.update(data.get("fields", {}))
        if cls is CallFailedError:
            error.__dict__.setdefault("kind", data.get("kind", "unknown"))
            error.__dict__.setdefault("detail", data.get("message", ""))
        return error


class ConfigError(FaabricError):
    """A setting is missing or has a value the runtime cannot use."""


class ToolchainError(FaabricError):
    """The wasm toolchain is missing, or compiling a guest program failed."""


class FunctionNotFoundError(FaabricError):
    """No function is stored under ``user/function``."""

    def __init__(self, user: str, function: str) -> None:
        super().__init__(f"function not found: {user}/{function}")
        self.user = user
        self.function = function


class InvalidFunctionError(FaabricError):
    """The bytes uploaded for a function are not a module the runtime can run."""

    def __init__(self, user: str, function: str, reason: str) -> None:
        super().__init__(f"invalid function {user}/{function}: {reason}")
        self.user = user
        self.function = function
        self.reason = reason


class SchedulingError(FaabricError):
    """The planner could not place a request."""


class NoCapacityError(SchedulingError):
    """A request needs more slots than the cluster will ever have."""

    def __init__(self, requested: int, capacity: int) -> None:
        super().__init__(
            f"request needs {requested} slots but the cluster has {capacity}"
        )
        self.requested = requested
        self.capacity = capacity


class UnknownCallError(FaabricError):
    """A result was awaited for a call id the runtime never issued."""

    def __init__(self, message_id: int) -> None:
        super().__init__(f"unknown call id {message_id}")
        self.message_id = message_id


class CallTimeoutError(FaabricError, TimeoutError):
    """Waiting for a call's result took longer than allowed."""

    def __init__(self, message_id: int, timeout: float) -> None:
        super().__init__(f"call {message_id} gave no result within {timeout:g}s")
        self.message_id = message_id
        self.timeout = timeout


class GranuleError(FaabricError):
    """A granule (one wasm function call) failed.

    Attributes:
        function: ``user/function`` that failed.
        detail: what went wrong, in words.
    """

    def __init__(self, function: str, detail: str) -> None:
        super().__init__(f"{function}: {detail}")
        self.function = function
        self.detail = detail


class GuestTrap(GranuleError):
    """The guest trapped: unreachable, an out-of-bounds access, a bad host call..."""


class GuestMemoryError(GuestTrap):
    """The guest passed a host function a pointer or length outside its memory."""


class GranuleTimeoutError(GranuleError, TimeoutError):
    """The granule ran past its wall-time limit and was interrupted."""

    def __init__(self, function: str, limit_seconds: float) -> None:
        super().__init__(function, f"time limit of {limit_seconds:g}s exceeded")
        self.limit_seconds = limit_seconds


class GranuleOutOfMemoryError(GranuleError):
    """The granule hit its linear-memory cap."""

    def __init__(self, function: str, limit_bytes: int, detail: str = "") -> None:
        text = f"memory cap of {limit_bytes} bytes exceeded"
        super().__init__(function, f"{text} ({detail})" if detail else text)
        self.limit_bytes = limit_bytes


class MissingExportError(GranuleError):
    """The module lacks an export the runtime needs (``_start``/``main``, a table...)."""


class ChainedCallError(FaabricError):
    """A chained call could not be made (for example, its function does not exist)."""


class CallFailedError(FaabricError):
    """An invocation finished with an error instead of a return value.

    Raised by the client API for results whose ``error`` is set; the original
    error class name is kept in ``kind``.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class StateError(FaabricError):
    """A state operation failed."""


class StateValueError(StateError):
    """An operation on one value failed; ``user`` and ``key`` name the value."""

    def __init__(self, user: str, key: str, detail: str) -> None:
        shown = key if len(key) <= 80 else key[:77] + "..."
        super().__init__(f"state {user}/{shown!r}: {detail}")
        self.user = user
        self.key = shown
        self.detail = detail


class StateKeyError(StateValueError):
    """The key has no value in either tier."""

    def __init__(self, user: str, key: str) -> None:
        super().__init__(user, key, "no such key")


class InvalidStateKeyError(StateValueError):
    """The key is empty or longer than the runtime accepts."""


class StateRangeError(StateValueError):
    """An offset, length or size is negative or reaches past the value.

    Attributes:
        offset, length: the range asked for; size: the value's size.
    """

    def __init__(self, user: str, key: str, offset: int, length: int, size: int, detail: str = "") -> None:
        text = detail or f"range [{offset}, +{length}) is outside the value of {size} bytes"
        super().__init__(user, key, text)
        self.offset = offset
        self.length = length
        self.size = size


class StateFileError(StateValueError):
    """``write_state_from_file`` got a path outside the sandbox, or one it cannot read."""


class StateLockTimeoutError(StateValueError, TimeoutError):
    """A state lock was not acquired within ``timeout`` seconds."""

    def __init__(self, user: str, key: str, timeout: float) -> None:
        super().__init__(user, key, f"lock not acquired within {timeout:g}s")
        self.timeout = timeout


class StateBackendUnavailableError(StateError):
    """The global state tier (Redis) cannot be reached or failed mid-request."""

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"state backend {backend} is unavailable: {detail}")
        self.backend = backend
        self.detail = detail


class MpiError(FaabricError):
    """An MPI call failed. Unless the program chose ``MPI_ERRORS_RETURN``, MPI
    errors are fatal (``MPI_ERRORS_ARE_FATAL``): the rank traps and its whole world ends.

    Attributes:
        function: the MPI function, e.g. ``MPI_Recv``.
        rank: the rank (in ``MPI_COMM_WORLD``) that called it; -1 if unknown.
        world_id: the MPI world.
        error_class: the MPI error class (``MPI_ERR_TRUNCATE`` is 14...).
        error_name: its name.
        detail: what went wrong, in words.
    """

    def __init__(
        self, error_class: int, error_name: str, detail: str, function: str = "", rank: int = -1, world_id: int = 0
    ) -> None:
        where = f"{function or 'MPI'} on rank {rank}" if rank >= 0 else (function or "MPI")
        super().__init__(f"{where} of world {world_id}: {error_name}: {detail}")
        self.error_class = error_class
        self.error_name = error_name
        self.detail = detail
        self.function = function
        self.rank = rank
        self.world_id = world_id


class MpiAbortError(MpiError):
    """A rank called ``MPI_Abort``; ``error_code`` is the code it passed."""

    def __init__(self, error_code: int, function: str = "MPI_Abort", rank: int = -1, world_id: int = 0) -> None:
        super().__init__(16, "MPI_Abort", f"called with error code {error_code}", function, rank, world_id)
        self.error_code = error_code


class MpiWorldFailedError(MpiError):
    """This rank was stopped because rank ``failed_rank`` of its world failed."""

    def __init__(self, failed_rank: int, reason: str, function: str = "", rank: int = -1, world_id: int = 0) -> None:
        super().__init__(15, "MPI_ERR_OTHER", f"rank {failed_rank} failed: {reason}", function, rank, world_id)
        self.failed_rank = failed_rank
        self.reason = reason


class MpiDeadlockError(MpiError, TimeoutError):
    """Every rank of a world waits for another, or a wait outlived the MPI timeout."""


class OpenMPError(FaabricError):
    """An OpenMP program misused the runtime (an unknown schedule, unlocking a lock it does not hold...)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"OpenMP: {detail}")
        self.detail = detail


class HostLostError(FaabricError):
    """The host running a call left the cluster before the call finished."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"host {host} was lost ({reason})")
        self.host = host
        self.reason = reason


class MalformedFrameError(FaabricError):
    """Bytes on a socket that are not a frame of this protocol."""


class TransportError(FaabricError):
    """A peer could not be reached, or did not answer in time."""

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"{address}: {detail}")
        self.address = address
        self.detail = detail


class UnknownMethodError(FaabricError):
    """A frame named a method the receiver does not serve."""

    def __init__(self, method: str) -> None:
        super().__init__(f"unknown method {method!r}")
        self.method = method


class ModuleError(FaabricError):
    """Wasm bytes that do not compile; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WasmFormatError(FaabricError):
    """The bytes are not a well-formed wasm module."""


class ExecutionInterrupt(BaseException):
    """Control flow that leaves a granule early on purpose; not a failure."""


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found

