"""Collectives in progress: what each host holds of one, and what other hosts need of it."""

from __future__ import annotations

MISSING = object()  # a contribution or result not there yet


class Slot:
    """One collective call on one communicator, as this host sees it.

    ``share`` says what the ranks take from others' contributions, which
    decides what crosses hosts: ``sync`` nothing (a barrier), ``root`` the
    root's contribution, ``to_root`` everything for the root only, ``all``
    everything, ``result`` the one result computed from everything.
    A ``_chunks`` suffix (scatter, alltoall) marks contributions that are
    lists of per-rank chunks: they are cut down to the receiving host's ranks.
    """

    __slots__ = (
        "key", "group", "name", "signature", "first_rank", "share", "root", "members", "coordinator", "spans",
        "contributions", "arrived", "local_arrived", "left", "taken", "readers", "result", "claimed", "sent",
        "chunked", "spec",
    )

    def __init__(self, key, group, name, signature, first_rank, share, root, members, coordinator) -> None:
        self.key, self.group, self.name, self.signature, self.first_rank = key, group, name, signature, first_rank
        self.spec, self.root = share, root
        self.share, self.chunked = share.removesuffix("_chunks"), share.endswith("_chunks")
        self.members = members  # this host's ranks (communicator ranks) in the communicator
        self.coordinator = coordinator
        self.spans = len(members) != len(group)
        self.contributions: list = [MISSING] * len(group)
        self.arrived = 0
        self.local_arrived = 0
        self.left = 0
        self.taken = 0  # ranks done taking their chunks (Endpoint.alltoall_here)
        self.readers = 0  # ranks taking their chunks right now (Endpoint.alltoall_here)
        self.result = MISSING
        self.claimed = False
        self.sent = False  # bundle (other hosts) or completions (coordinator) sent

    def remote_hosts(self, addresses: list) -> dict[str, list[int]]:
        """Other hosts of the communicator and their ranks in it."""
        mine = set(self.members)
        hosts: dict[str, list[int]] = {}
        for index, world_rank in enumerate(self.group):
            if index not in mine:
                hosts.setdefault(addresses[world_rank], []).append(index)
        return hosts

    def completion_for(self, members: list[int]) -> dict | None:
        """What a host whose ranks are ``members`` needs once everything has arrived (None: nothing)."""
        share, wanted = self.share, set(members)
        if share == "sync":
            return {}
        if share == "result":
            return {"result": self.result}
        if share == "to_root" and self.root not in wanted:
            return None
        if share == "root":
            sources = [] if self.root in wanted else [self.root]
        else:  # "to_root" (the root's host) and "all": everything from the other hosts
            sources = [index for index in range(len(self.group)) if index not in wanted]
        if not sources:
            return None
        return {"given": {index: self._cut(self.contributions[index], wanted) for index in sources}}

    def _cut(self, contribution, wanted: set[int]):
        if not self.chunked or contribution is None:
            return contribution
        return tuple(chunk if index in wanted else None for index, chunk in enumerate(contribution))


def show_signature(signature: tuple) -> str:
    """``(a, b)`` for a collective's signature in error messages."""
    return "(" + ", ".join(str(item) for item in signature) + ")" if signature else "()"
