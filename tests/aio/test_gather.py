"""gather on the AnyIO manager, on asyncio and on trio: input order, its limit, errors."""

import anyio
import pytest

from taskcenter.aio.manager import TaskManager, gather_limited
from tests.aio.conftest import Peak

pytestmark = pytest.mark.anyio


async def test_gather_keeps_input_order_and_never_exceeds_its_limit():
    peak = Peak()

    async def work(i: int) -> int:
        peak.enter()
        await anyio.sleep(0.01 * (i % 3))
        peak.leave()
        return i * 2

    async with TaskManager() as manager:
        results = await manager.run_gather_with_concurrency(
            [lambda i=i: work(i) for i in range(20)], limit=3
        )

    assert results == [i * 2 for i in range(20)]
    assert peak.peak == 3


async def test_gather_raises_the_first_error_itself_and_cancels_the_rest():
    finished: list[int] = []

    async def work(i: int) -> int:
        if i == 2:
            raise KeyError("two")
        await anyio.sleep(0.5 if i > 2 else 0)
        finished.append(i)
        return i

    with pytest.raises(KeyError, match="two"):
        await gather_limited([lambda i=i: work(i) for i in range(6)], limit=6)

    assert all(i < 2 for i in finished)


async def test_gather_collects_errors_in_place_when_asked():
    async def work(i: int) -> int:
        if i % 2:
            raise ValueError(i)
        return i

    results = await gather_limited(
        [lambda i=i: work(i) for i in range(5)], limit=2, return_exceptions=True
    )

    assert [r if isinstance(r, int) else type(r) for r in results] == [
        0,
        ValueError,
        2,
        ValueError,
        4,
    ]
