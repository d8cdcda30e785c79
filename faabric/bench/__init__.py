"""Benchmark commands (``faabric bench ...``)."""


def commands() -> list:
    return []
