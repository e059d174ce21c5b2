"""Measure 100,000 trivial tasks through the AnyIO manager against the bare alternatives.

In one run, rounds interleaved (medians reported), µs per task:
  * manager: `TaskManager.add_task` for each, then the drain of `async with`;
  * task group: a bare `anyio.create_task_group()` with `start_soon` for each;
  * task group + limiter: the same, each task holding a `CapacityLimiter` (the manager's
    default capacity, 16) while it runs;
  * asyncio.gather: one coroutine each, gathered (asyncio only).
The manager's ratio to the bare task group is the figure to hold under 2x.

Usage: .venv/bin/python bench/aio_manager.py --tasks 100000 --repeat 3 [--backend trio]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from taskcenter.aio.manager import TaskManager  # noqa: E402

#: The manager's default capacity (settings.AIO_MANAGER["max_concurrency"]).
CAPACITY = 16


async def noop() -> None:
    pass


async def through_manager(tasks: int) -> None:
    async with TaskManager(max_concurrency=CAPACITY, max_queue=tasks) as manager:
        for _ in range(tasks):
            manager.add_task(noop)
    if manager.counts["done"] != tasks:
        raise RuntimeError(f"manager ran {manager.counts['done']} of {tasks}")


async def task_group(tasks: int) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(noop)


async def task_group_limited(tasks: int) -> None:
    limiter = anyio.CapacityLimiter(CAPACITY)

    async def limited() -> None:
        async with limiter:
            await noop()

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(limited)


async def asyncio_gather(tasks: int) -> None:
    await asyncio.gather(*(noop() for _ in range(tasks)))


VARIANTS: dict[str, Callable[[int], Awaitable[None]]] = {
    "manager": through_manager,
    "task group": task_group,
    "task group + limiter": task_group_limited,
    "asyncio.gather": asyncio_gather,
}


def timed(variant: Callable[[int], Awaitable[None]], tasks: int, backend: str) -> float:
    """µs per task of one variant, its event loop started before the clock."""

    async def main() -> float:
        started = time.perf_counter()
        await variant(tasks)
        return (time.perf_counter() - started) / tasks * 1e6

    return anyio.run(main, backend=backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    opts = parser.parse_args()
    names = [n for n in VARIANTS if opts.backend == "asyncio" or n != "asyncio.gather"]
    results: dict[str, list[float]] = {n: [] for n in names}
    for round_ in range(opts.repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(timed(VARIANTS[name], opts.tasks, opts.backend))
    print(f"{opts.tasks:,} trivial tasks on {opts.backend}, median of {opts.repeat} rounds")
    bare = statistics.median(results["task group"])
    for name in names:
        median = statistics.median(results[name])
        spread = f"{min(results[name]):.1f}-{max(results[name]):.1f}"
        print(f"  {name:22} {median:7.1f} µs/task ({spread})  x{median / bare:.2f} of task group")


if __name__ == "__main__":
    main()
