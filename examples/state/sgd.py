"""Hogwild SGD through shared state: the Faasm paper's training experiment.

``sgd.c`` (beside this file) generates a synthetic sparse dataset into state,
then N granules train a linear SVM on it at once, each sampling examples from
the whole set and updating the shared weights without locks (Hogwild). In
``shared`` mode every granule maps the data and the weights straight into its
memory (the same physical pages, no copies); in ``copy`` mode each one first
copies everything in from the global tier, as a container platform would.

    python -m examples.state.sgd --workers 4 --mode shared
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from pathlib import Path

import faabric
from faabric.config import FunctionLimits, SystemConfig
from granules.toolchain import compile_wasm

SOURCE = Path(__file__).with_name("sgd.c")
USER = "sgd"


@dataclasses.dataclass(frozen=True)
class Dataset:
    examples: int = 20_000
    features: int = 5_000
    nnz: int = 32  # non-zero features per example
    seed: int = 42

    def args(self) -> str:
        return f"{self.examples} {self.features} {self.nnz}"

    @property
    def nbytes(self) -> int:
        return self.examples * self.nnz * 8 + self.examples * 4 + self.features * 4


async def setup(cluster: faabric.LocalCluster, data: Dataset, wasm: Path) -> None:
    """Upload ``sgd`` and generate the dataset (and zero weights) into state."""
    await cluster.upload(USER, "sgd", wasm, limits=FunctionLimits(memory_bytes=1 << 30, time_seconds=300))
    await cluster.invoke(USER, "sgd", f"gen {data.args()} {data.seed}")


async def train(cluster: faabric.LocalCluster, data: Dataset, workers: int, epochs: int, mode: str) -> None:
    """Each epoch, ``workers`` granules train at the same time; wait for all of them."""
    for epoch in range(epochs):
        calls = [faabric.Call(USER, "sgd", f"{mode} {data.args()} {w} {workers} {epoch}".encode()) for w in range(workers)]
        for result in await cluster.invoke_batch(calls):
            result.raise_for_error()


async def accuracy(cluster: faabric.LocalCluster, data: Dataset) -> float:
    correct, total = map(int, (await cluster.invoke(USER, "sgd", f"eval {data.args()}")).output.split())
    return correct / total


async def run(
    config: SystemConfig | None = None, workers: int = 4, epochs: int = 3, mode: str = "shared", data: Dataset = Dataset()
) -> dict:
    """Generate, train and evaluate; returns the accuracy and the training time."""
    config = config or SystemConfig.from_env()
    wasm = compile_wasm([SOURCE], config.cache_dir / "examples" / "sgd.wasm")
    async with faabric.LocalCluster(config=config) as cluster:
        await setup(cluster, data, wasm)
        started = time.perf_counter()
        await train(cluster, data, workers, epochs, mode)
        seconds = time.perf_counter() - started
        return {"mode": mode, "workers": workers, "accuracy": await accuracy(cluster, data), "train_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--mode", choices=["shared", "copy"], default="shared")
    args = parser.parse_args()
    result = asyncio.run(run(workers=args.workers, epochs=args.epochs, mode=args.mode))
    print(f"{result['mode']}: {result['workers']} workers, accuracy {result['accuracy']:.1%}, "
          f"training {result['train_s']:.2f} s")


if __name__ == "__main__":
    main()
