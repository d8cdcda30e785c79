"""Scheduling policies are pure functions of free slots."""

from faabric.planner.policies import bin_pack, compact


def test_bin_pack_fills_the_host_with_most_free_slots_first():
    assert bin_pack({"a": 2, "b": 5, "c": 1}, 6) == {"b": 5, "a": 1}


def test_bin_pack_places_what_fits_and_leaves_the_rest():
    assert bin_pack({"a": 1, "b": 1}, 5) == {"a": 1, "b": 1}


def test_bin_pack_breaks_ties_by_host_id():
    assert bin_pack({"b": 3, "a": 3}, 2) == {"a": 2}


def test_compact_prefers_the_tightest_host_that_takes_everything():
    assert compact({"a": 8, "b": 3, "c": 4}, 3) == {"b": 3}


def test_compact_spreads_only_when_no_host_fits():
    assert compact({"a": 2, "b": 3}, 4) == {"b": 3, "a": 1}


def test_nothing_is_placed_on_full_hosts():
    assert bin_pack({"a": 0}, 3) == {}
    assert compact({}, 1) == {}
