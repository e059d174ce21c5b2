"""AnyIO test helpers: every test runs on both backends the manager supports; a peak counter."""

import threading

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


class Peak:
    """Count how many calls run at once, from any thread."""

    def __init__(self) -> None:
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1
