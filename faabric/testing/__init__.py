"""Helpers for tests that start real processes (planner, workers, redis-server)."""
