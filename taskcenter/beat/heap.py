"""The leader's entries ordered by when to look at them next.

An entry is pushed again whenever its next due time changes; items pushed before the
entry was replaced or reverted carry an older version and are skipped when popped, so
the heap is never searched or rebuilt.
"""

from __future__ import annotations

import heapq
import itertools

from taskcenter.beat.entry import TaskcenterEntry


class DueHeap:
    """(due time, sequence, schedule id, entry version) items; the earliest first."""

    def __init__(self) -> None:
        self._items: list[tuple[float, int, int, int]] = []
        self._seq = itertools.count()

    def __bool__(self) -> bool:
        return bool(self._items)

    def push(self, entry: TaskcenterEntry, at: float) -> None:
        """Look at `entry` again at Unix time `at`."""
        heapq.heappush(self._items, (at, next(self._seq), entry.model.pk, entry.version))

    def clear(self) -> None:
        self._items = []

    def next_at(self) -> float:
        """Unix time of the earliest item (the heap must not be empty)."""
        return self._items[0][0]

    def pop_due(
        self, entries: dict[int, TaskcenterEntry], *, now: float, limit: int
    ) -> list[TaskcenterEntry]:
        """Pop up to `limit` entries due at `now`, skipping items of replaced entries."""
        batch: list[TaskcenterEntry] = []
        while self._items and self._items[0][0] <= now and len(batch) < limit:
            _, _, pk, version = heapq.heappop(self._items)
            entry = entries.get(pk)
            if entry is not None and entry.version == version:
                batch.append(entry)
        return batch
