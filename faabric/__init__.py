"""faabric-py: a stateful serverless runtime for WebAssembly functions, in Python."""

from faabric.cluster import Call, CallResult, LocalCluster
from faabric.client import RemoteCluster, connect
from faabric.config import FunctionLimits, SystemConfig
from faabric.exceptions import *  # noqa: F401,F403 - the exception tree is public API
from faabric.exceptions import __all__ as _exception_names  # type: ignore[attr-defined]

__all__ = [
    "Call", "CallResult", "FunctionLimits", "LocalCluster", "RemoteCluster", "SystemConfig", "connect",
    *_exception_names,
]
