"""Pure MPI logic: typemaps, reduction ops, topologies and groups, without wasm."""

from __future__ import annotations

import numpy as np
import pytest

from faabric.exceptions import MpiError
from faabric.mpi import communicators as groups
from faabric.mpi import datatypes as dt
from faabric.mpi import ops
from faabric.mpi.topology import CartTopology, dims_create

INT = dt.basic("MPI_INT", 4, "<i4", dt.INTEGER)
DOUBLE = dt.basic("MPI_DOUBLE", 8, "<f8", dt.FLOATING)
DOUBLE_INT = dt.pair("MPI_DOUBLE_INT", "<f8", 8, 8, 16)


def test_vector_packs_strided_blocks_and_unpacks_them_back():
    column = dt.vector(3, 1, 4, INT)
    memory = bytearray(np.arange(12, dtype="<i4").tobytes())
    packed = dt.pack(memoryview(memory), 4, 1, column)
    assert np.frombuffer(packed, "<i4").tolist() == [1, 5, 9]
    target = bytearray(48)
    dt.unpack(memoryview(target), 0, 1, column, packed)
    assert np.frombuffer(target, "<i4").tolist() == [1, 0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0]
    assert (column.size, column.extent) == (12, 36)


def test_struct_packs_in_typemap_order_not_address_order():
    flipped = dt.create_struct([1, 1], [8, 0], [INT, INT])
    memory = bytearray(np.array([10, 11, 12], "<i4").tobytes())
    assert np.frombuffer(dt.pack(memoryview(memory), 0, 1, flipped), "<i4").tolist() == [12, 10]


def test_pair_type_has_padded_extent_and_packed_size():
    assert (DOUBLE_INT.size, DOUBLE_INT.extent, DOUBLE_INT.contiguous) == (12, 16, False)


def test_maxloc_takes_the_lower_index_on_ties():
    element = DOUBLE_INT.element
    a = np.array([(2.0, 3), (1.0, 0)], dtype=element)
    b = np.array([(2.0, 1), (5.0, 2)], dtype=element)
    result = ops.combine("MAXLOC", a, b)
    assert result.tolist() == [(2.0, 1), (5.0, 2)]
    assert ops.combine("MINLOC", a, b).tolist() == [(2.0, 1), (1.0, 0)]


def test_logical_ops_give_zero_or_one_in_the_element_type():
    a, b = np.array([0, 2, 3], "<i4"), np.array([5, 0, 7], "<i4")
    assert ops.combine("LAND", a, b).tolist() == [0, 0, 1]
    assert ops.combine("LXOR", a, b).tolist() == [1, 1, 0]


def test_an_op_on_a_type_it_does_not_apply_to_is_mpi_err_op():
    with pytest.raises(MpiError, match="MPI_BAND does not apply to datatype MPI_DOUBLE") as caught:
        ops.check("BAND", DOUBLE)
    assert caught.value.error_name == "MPI_ERR_OP"


def test_fold_and_prefixes_keep_rank_order():
    parts = [np.array([v]) for v in (1, 2, 3)]
    first_wins = lambda a, b: a.copy()  # noqa: E731 - associative, not commutative
    assert ops.fold(parts, first_wins).tolist() == [1]
    assert [p.tolist() for p in ops.prefixes(parts, np.add)] == [[1], [3], [6]]


@pytest.mark.parametrize(
    "nodes, dims, expected",
    [(12, [0, 0], [4, 3]), (8, [0, 0, 0], [2, 2, 2]), (6, [0, 3, 0], [2, 3, 1]), (7, [0, 0], [7, 1]), (1, [0], [1])],
)
def test_dims_create_balances_like_mpich(nodes, dims, expected):
    assert dims_create(nodes, dims) == expected


def test_dims_create_rejects_impossible_fixed_dimensions():
    with pytest.raises(MpiError, match="MPI_ERR_DIMS"):
        dims_create(10, [3, 0])


def test_cartesian_shift_wraps_only_periodic_dimensions():
    grid = CartTopology((2, 3), (False, True))
    assert grid.coords(5) == [1, 2]
    assert grid.shift(5, 1, 1) == (4, 3)
    assert grid.shift(5, 0, 1) == (2, -1)
    assert grid.rank([1, -1]) == 5
    with pytest.raises(MpiError, match="outside the non-periodic extent"):
        grid.rank([2, 0])


def test_cart_sub_colors_group_by_dropped_coordinates():
    grid = CartTopology((2, 3), (False, False))
    rows = {grid.sub_color(rank, [False, True]) for rank in range(6)}
    assert rows == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)}


def test_split_orders_by_key_then_old_rank_and_drops_undefined():
    made = groups.split_groups((10, 11, 12, 13), [(0, 5), (1, 0), (0, 5), (groups.UNDEFINED, 0)])
    assert made == {0: (10, 12), 1: (11,)}


def test_group_operations_and_translation():
    world = (0, 1, 2, 3)
    odd = groups.group_incl(world, [1, 3])
    assert groups.group_excl(world, [1, 3]) == (0, 2)
    assert groups.translate_ranks(odd, [0, 1], world) == [1, 3]
    assert groups.translate_ranks(world, [0], odd) == [groups.UNDEFINED]
    assert groups.compare_groups((1, 0), (0, 1)) == groups.SIMILAR
    with pytest.raises(MpiError, match="repeat"):
        groups.group_incl(world, [1, 1])
