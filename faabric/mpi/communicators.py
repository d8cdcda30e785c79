"""Communicators and groups: ordered sets of world ranks, and how they split.

A :class:`Communicator` is shared by its member ranks: its ``context`` keeps
its messages and collectives apart from every other communicator's.
"""

from __future__ import annotations

from typing import Sequence

from faabric.mpi.errors import ErrorClass, fail

IDENT, CONGRUENT, SIMILAR, UNEQUAL = 0, 1, 2, 3
UNDEFINED = -32766
PROC_NULL = -1


class Communicator:
    """A group of world ranks with its own message context.

    Attributes:
        context: matched by point-to-point messages sent on this communicator.
        group: world rank of each communicator rank.
        topology: a :class:`~faabric.mpi.topology.CartTopology`, or None.
    """

    __slots__ = ("context", "group", "rank_of", "topology")

    def __init__(self, context: int, group: tuple[int, ...], topology=None) -> None:
        self.context = context
        self.group = group
        self.rank_of = {world_rank: index for index, world_rank in enumerate(group)}
        self.topology = topology

    @property
    def size(self) -> int:
        return len(self.group)

    def __repr__(self) -> str:
        return f"Communicator(context={self.context}, group={self.group})"


def compare_groups(a: Sequence[int], b: Sequence[int]) -> int:
    if tuple(a) == tuple(b):
        return IDENT
    if set(a) == set(b) and len(a) == len(b):
        return SIMILAR
    return UNEQUAL


def compare_comms(a: Communicator, b: Communicator) -> int:
    if a is b:
        return IDENT
    result = compare_groups(a.group, b.group)
    return CONGRUENT if result == IDENT else result


def group_incl(group: Sequence[int], ranks: Sequence[int]) -> tuple[int, ...]:
    _check_ranks(group, ranks)
    return tuple(group[r] for r in ranks)


def group_excl(group: Sequence[int], ranks: Sequence[int]) -> tuple[int, ...]:
    _check_ranks(group, ranks)
    drop = set(ranks)
    return tuple(member for index, member in enumerate(group) if index not in drop)


def _check_ranks(group: Sequence[int], ranks: Sequence[int]) -> None:
    for rank in ranks:
        if not 0 <= rank < len(group):
            raise fail(ErrorClass.ERR_RANK, f"rank {rank} is not in a group of size {len(group)}")
    if len(set(ranks)) != len(ranks):
        raise fail(ErrorClass.ERR_RANK, f"ranks {list(ranks)} repeat a rank")


def group_union(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(a) + tuple(x for x in b if x not in set(a))


def group_intersection(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x for x in a if x in set(b))


def group_difference(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x for x in a if x not in set(b))


def translate_ranks(a: Sequence[int], ranks: Sequence[int], b: Sequence[int]) -> list[int]:
    """Where each of ``a``'s ``ranks`` sits in ``b`` (UNDEFINED if absent)."""
    position = {member: index for index, member in enumerate(b)}
    out = []
    for rank in ranks:
        if rank == PROC_NULL:
            out.append(PROC_NULL)
            continue
        if not 0 <= rank < len(a):
            raise fail(ErrorClass.ERR_RANK, f"rank {rank} is not in a group of size {len(a)}")
        out.append(position.get(a[rank], UNDEFINED))
    return out


def split_groups(group: Sequence[int], choices: Sequence[tuple[int, int]]) -> dict[int, tuple[int, ...]]:
    """``MPI_Comm_split``: per color, the world ranks ordered by (key, old rank)."""
    by_color: dict[int, list[tuple[int, int, int]]] = {}
    for old_rank, (color, key) in enumerate(choices):
        if color == UNDEFINED:
            continue
        if color < 0:
            raise fail(ErrorClass.ERR_ARG, f"color {color} is negative (use MPI_UNDEFINED to opt out)")
        by_color.setdefault(color, []).append((key, old_rank, group[old_rank]))
    return {color: tuple(m[2] for m in sorted(members)) for color, members in by_color.items()}
