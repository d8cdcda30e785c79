"""Scheduling policies: pure functions from free slots to a placement.

A policy gets the free slots of every host and the number of calls to place,
and returns how many calls each host takes. Hosts it does not name take
none; calls it cannot place stay queued.
"""

from __future__ import annotations

from typing import Callable, Mapping

Placement = dict[str, int]
Policy = Callable[[Mapping[str, int], int], Placement]


def bin_pack(free_slots: Mapping[str, int], count: int) -> Placement:
    """Fill the host with the most free slots first, then the next (Faasm's bin-pack).

    Ties go to the host id that sorts first, so placements are deterministic.
    """
    placement: Placement = {}
    for host in sorted(free_slots, key=lambda h: (-free_slots[h], h)):
        if count <= 0:
            break
        take = min(free_slots[host], count)
        if take > 0:
            placement[host] = take
            count -= take
    return placement


def compact(free_slots: Mapping[str, int], count: int) -> Placement:
    """Use as few hosts as possible: the fullest host that still fits the rest goes first.

    If one host can take every call, the one with the fewest free slots that
    can is chosen (keeping big gaps for big requests); otherwise hosts are
    filled from the fullest down.
    """
    fitting = [h for h in free_slots if free_slots[h] >= count > 0]
    if fitting:
        return {min(fitting, key=lambda h: (free_slots[h], h)): count}
    return bin_pack(free_slots, count)


POLICIES: dict[str, Policy] = {"bin-pack": bin_pack, "compact": compact}
