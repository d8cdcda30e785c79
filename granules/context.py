"""The call a worker thread is running, as seen by host functions."""

from __future__ import annotations

import contextvars
import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faabric.host import CallContext
    from faabric.messages import Message
    from granules.granule import Granule
    from granules.guest_memory import GuestMemory


@dataclasses.dataclass
class ActiveCall:
    """One granule running one message, with the host services it may use."""

    granule: "Granule"
    message: "Message"
    context: "CallContext"
    # What host-interface areas keep for the length of one call (state mappings, held locks...).
    scratch: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def memory(self) -> "GuestMemory":
        return self.granule.memory


ACTIVE_CALL: contextvars.ContextVar[ActiveCall] = contextvars.ContextVar("faabric_active_call")
