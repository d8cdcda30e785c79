"""Two-tier state: a host-local tier shared without copies, over a global tier.

* :mod:`faabric.state.local`: :class:`LocalState`, one per host.
* :mod:`faabric.state.global_tier`: the global-tier interface and its
  in-memory backend; :mod:`faabric.state.redis_tier` the Redis one.
* :mod:`faabric.state.client`: the Python async API (``cluster.state(user)``).
"""

from faabric.state.global_tier import CHUNK_SIZE, GlobalTier, InMemoryGlobalTier, open_global_tier
from faabric.state.keys import StateKey
from faabric.state.local import LocalState

__all__ = ["CHUNK_SIZE", "GlobalTier", "InMemoryGlobalTier", "LocalState", "StateKey", "open_global_tier"]
