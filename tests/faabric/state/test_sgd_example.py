"""The SGD example trains to a useful accuracy both through shared pointers and by copying."""

from __future__ import annotations

import pytest

from examples.state import sgd

SMALL = sgd.Dataset(examples=4000, features=1000, nnz=16)


@pytest.mark.parametrize("mode", ["shared", "copy"])
async def test_hogwild_sgd_learns_the_synthetic_dataset(config, mode):
    result = await sgd.run(config, workers=4, epochs=3, mode=mode, data=SMALL)
    assert result["accuracy"] > 0.8
    assert result["workers"] == 4
