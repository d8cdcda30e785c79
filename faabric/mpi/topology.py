"""Cartesian topologies: balanced dimensions, coordinates, ranks and shifts.

Ranks are laid out in row-major order (the last dimension varies fastest),
as in MPICH; any number of dimensions, each periodic or not.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from faabric.mpi.communicators import PROC_NULL
from faabric.mpi.errors import ErrorClass, fail


def dims_create(nnodes: int, dims: Sequence[int]) -> list[int]:
    """``MPI_Dims_create``: fill the zero entries of ``dims`` as evenly as possible, largest first."""
    if nnodes <= 0:
        raise fail(ErrorClass.ERR_ARG, f"number of nodes must be positive, not {nnodes}")
    if any(d < 0 for d in dims):
        raise fail(ErrorClass.ERR_DIMS, f"dimensions {list(dims)} contain a negative entry")
    fixed = math.prod(d for d in dims if d > 0)
    free = [i for i, d in enumerate(dims) if d == 0]
    if nnodes % fixed:
        raise fail(ErrorClass.ERR_DIMS, f"{nnodes} nodes cannot be divided by the fixed dimensions {list(dims)}")
    remaining = nnodes // fixed
    if not free:
        if remaining != 1:
            raise fail(ErrorClass.ERR_DIMS, f"dimensions {list(dims)} do not multiply to {nnodes}")
        return list(dims)
    sizes = [1] * len(free)
    for factor in _prime_factors(remaining):  # largest first, each onto the smallest dimension so far
        smallest = min(range(len(sizes)), key=lambda i: sizes[i])
        sizes[smallest] *= factor
    sizes.sort(reverse=True)
    out = list(dims)
    for index, size in zip(free, sizes):
        out[index] = size
    return out


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return sorted(factors, reverse=True)


@dataclasses.dataclass(frozen=True)
class CartTopology:
    dims: tuple[int, ...]
    periods: tuple[bool, ...]

    @property
    def size(self) -> int:
        return math.prod(self.dims)

    def coords(self, rank: int) -> list[int]:
        if not 0 <= rank < self.size:
            raise fail(ErrorClass.ERR_RANK, f"rank {rank} is not in a grid of {self.size}")
        out = []
        for extent in reversed(self.dims):
            out.append(rank % extent)
            rank //= extent
        return out[::-1]

    def rank(self, coords: Sequence[int]) -> int:
        """The rank at ``coords``; periodic dimensions wrap, others must be in range."""
        if len(coords) != len(self.dims):
            raise fail(ErrorClass.ERR_ARG, f"{len(coords)} coordinates for a {len(self.dims)}-d grid")
        rank = 0
        for coordinate, extent, periodic in zip(coords, self.dims, self.periods):
            if periodic:
                coordinate %= extent
            elif not 0 <= coordinate < extent:
                raise fail(ErrorClass.ERR_RANK, f"coordinate {coordinate} is outside the non-periodic extent {extent}")
            rank = rank * extent + coordinate
        return rank

    def shift(self, rank: int, direction: int, displacement: int) -> tuple[int, int]:
        """``(source, dest)`` for a shift along ``direction``; PROC_NULL past a non-periodic edge."""
        if not 0 <= direction < len(self.dims):
            raise fail(ErrorClass.ERR_DIMS, f"direction {direction} is not a dimension of a {len(self.dims)}-d grid")
        coords = self.coords(rank)

        def neighbour(step: int) -> int:
            moved = list(coords)
            moved[direction] += step
            extent = self.dims[direction]
            if self.periods[direction]:
                moved[direction] %= extent
            elif not 0 <= moved[direction] < extent:
                return PROC_NULL
            return self.rank(moved)

        return neighbour(-displacement), neighbour(displacement)

    def sub(self, remain: Sequence[bool]) -> "CartTopology":
        keep = [i for i, r in enumerate(remain) if r]
        return CartTopology(tuple(self.dims[i] for i in keep), tuple(self.periods[i] for i in keep))

    def sub_color(self, rank: int, remain: Sequence[bool]) -> tuple[int, int]:
        """``(color, key)`` that groups ranks sharing the dropped coordinates, ordered by the kept ones."""
        coords = self.coords(rank)
        color = key = 0
        for coordinate, extent, kept in zip(coords, self.dims, remain):
            if kept:
                key = key * extent + coordinate
            else:
                color = color * extent + coordinate
        return color, key
