"""Both global tiers (``state_backend`` in tests/conftest.py): in memory, and a real Redis."""

from __future__ import annotations

import pytest

from faabric.state import InMemoryGlobalTier, LocalState
from faabric.state.redis_tier import RedisGlobalTier


@pytest.fixture
def backend(state_backend) -> str | None:
    return state_backend


@pytest.fixture
def global_tier(backend):
    tier = InMemoryGlobalTier() if backend is None else RedisGlobalTier(backend)
    yield tier
    tier.close()


@pytest.fixture
def two_hosts(global_tier):
    """The local tiers of two hosts over one global tier."""
    hosts = LocalState(global_tier, owns_global_tier=False), LocalState(global_tier, owns_global_tier=False)
    yield hosts
    for host in hosts:
        host.close()
