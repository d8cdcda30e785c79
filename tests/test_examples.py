"""Every example runs, and gives the answer it should."""

from __future__ import annotations

from examples import demo


async def test_demo_runs_every_c_example(config):
    results = await demo.run(config)
    assert results["hello"].stdout == b"Hello from a granule!\n"
    assert results["hello"].output == b"hello"
    assert results["echo"].output == b"input goes in, output comes out"
    assert results["fanout"].output == str(sum(i * i for i in range(64))).encode()
    assert results["chain_ptr"].output == b"2^3=8 3^3=27 4^3=64"
    assert results["zygote"].output == b"65521 is prime"
    assert b"zygote ran 1 time" in results["zygote"].stdout
    assert b"pi is approximately 3.14159" in results["mpi_pi"].stdout and len(results["mpi_pi"].ranks) == 4
    assert b"pi=3.1415926" in results["omp_pi"].stdout
    assert results["mpi_ring"].stdout == b"token after 3 laps of 4 ranks: 18\n"
    assert len({rank.host for rank in results["mpi_ring"].ranks}) == 2
    assert all(r.return_value == 0 for r in results.values())
