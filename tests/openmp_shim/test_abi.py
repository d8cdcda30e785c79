"""libomp's loop arithmetic, without wasm: static splits, dispatched chunks, schedule codes."""

from __future__ import annotations

import pytest

from faabric.exceptions import OpenMPError
from openmp_shim import abi


def iterations(bounds: abi.StaticBounds, upper: int, incr: int, chunked: bool) -> list[int]:
    """The loop values a thread runs, as clang's code walks its bounds."""
    values = []
    lower, high = bounds.lower, bounds.upper
    while (lower <= upper) if incr > 0 else (lower >= upper):
        last = min(high, upper) if incr > 0 else max(high, upper)
        values += list(range(lower, last + (1 if incr > 0 else -1), incr))
        if not chunked:
            break
        lower, high = lower + bounds.stride, high + bounds.stride
    return values


@pytest.mark.parametrize("nth", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("lower, upper, incr", [(0, 99, 1), (5, 6, 1), (0, 2, 1), (10, -7, -3), (0, 1000, 7)])
@pytest.mark.parametrize("kind, chunk", [("static", 0), ("static_chunked", 1), ("static_chunked", 5)])
def test_static_schedules_give_every_iteration_to_exactly_one_thread(nth, lower, upper, incr, kind, chunk):
    seen = []
    lasts = 0
    for tid in range(nth):
        bounds = abi.static_bounds(kind, tid, nth, lower, upper, incr, chunk)
        seen += iterations(bounds, upper, incr, chunked=kind == "static_chunked" and nth > 1)
        lasts += bounds.last
    assert sorted(seen) == sorted(range(lower, upper + (1 if incr > 0 else -1), incr))
    assert lasts == 1


def test_static_balanced_gives_the_extras_to_the_first_threads():
    shares = [abi.static_bounds("static", tid, 4, 0, 9, 1, 0) for tid in range(4)]
    assert [(b.lower, b.upper) for b in shares] == [(0, 2), (3, 5), (6, 7), (8, 9)]
    assert [b.last for b in shares] == [False, False, False, True]


def test_an_empty_loop_gives_no_iterations_and_no_last_thread():
    bounds = abi.static_bounds("static", 0, 4, 5, 4, 1, 0)
    assert not bounds.last and bounds.lower > bounds.upper


@pytest.mark.parametrize("kind, chunk", [("dynamic", 1), ("dynamic", 7), ("guided", 1), ("guided", 4),
                                         ("static", 0), ("static_chunked", 3)])
def test_dispatched_chunks_cover_the_loop_once(kind, chunk):
    loop = abi.DispatchLoop(kind, False, 3, 300, 3, chunk, nth=3)
    seen = []
    active = {0, 1, 2}
    tid = 0
    while active:
        got = loop.next_chunk(tid)
        if got is None:
            active.discard(tid)
        else:
            low, high = loop.bounds(*got)
            seen += list(range(low, high + 1, 3))
        tid = (tid + 1) % 3
    assert seen and sorted(seen) == list(range(3, 301, 3))


def test_guided_chunks_shrink():
    loop = abi.DispatchLoop("guided", False, 0, 999, 1, 2, nth=4)
    sizes = []
    while (chunk := loop.next_chunk(0)) is not None:
        sizes.append(chunk[1] - chunk[0] + 1)
    assert sizes[0] == 125 and sizes == sorted(sizes, reverse=True) and min(sizes) >= 1


def test_schedule_codes_decode_with_ordered_and_modifier_bits():
    assert abi.schedule_kind(35) == ("dynamic", False)
    assert abi.schedule_kind(35 + 32) == ("dynamic", True)
    assert abi.schedule_kind(36 | (1 << 30)) == ("guided", False)
    assert abi.schedule_kind(34, for_static_init=True) == ("static", False)


@pytest.mark.parametrize("code, static_init", [(999, False), (35, True), (0, False)])
def test_unknown_schedule_kinds_are_typed_errors(code, static_init):
    with pytest.raises(OpenMPError, match=f"unknown schedule kind {code}"):
        abi.schedule_kind(code, for_static_init=static_init)


def test_runtime_schedule_follows_omp_schedule():
    assert abi.parse_omp_schedule("dynamic,4") == (abi.OMP_SCHED_DYNAMIC, 4)
    assert abi.parse_omp_schedule("nonmonotonic:guided") == (abi.OMP_SCHED_GUIDED, 0)
    assert abi.runtime_schedule(abi.OMP_SCHED_STATIC, 0) == ("static", 0)
    assert abi.runtime_schedule(abi.OMP_SCHED_STATIC, 3) == ("static_chunked", 3)
    assert abi.runtime_schedule(abi.OMP_SCHED_GUIDED, 0) == ("guided", 1)
