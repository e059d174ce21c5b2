"""Closed-loop load from several client processes, so the client side is not GIL-bound.

Each client process runs its share of the clients as threads and keeps its own
connections; all processes start on one wall-clock instant and stop after the same time.
A call is named by a picklable spec and built in the process that makes it.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

#: Seconds between handing a phase to the processes and its start: enough for every
#: process to read its order and start its threads before the common instant.
START_MARGIN = 0.3


def figures(latencies: list[float], errors: int, elapsed: float) -> dict[str, float]:
    """Return rps, p50 and p99 (ms) and the error count of one phase."""
    flat = sorted(latencies)
    if not flat:
        raise RuntimeError(f"no successful call ({errors} errors)")
    return {
        "rps": len(flat) / elapsed,
        "p50_ms": 1000 * flat[len(flat) // 2],
        "p99_ms": 1000 * flat[min(len(flat) - 1, int(len(flat) * 0.99))],
        "errors": errors,
    }


def run_threads(
    call: Callable[[], None], *, threads: int, start_at: float, stop_at: float
) -> tuple[list[float], int]:
    """Call `call` in a closed loop from `threads` threads between two `time.time()` instants."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0]

    def client(own: list[float]) -> None:
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        while time.time() < stop_at:
            t0 = time.perf_counter()
            try:
                call()
            except Exception:
                errors[0] += 1
                continue
            own.append(time.perf_counter() - t0)

    workers = [threading.Thread(target=client, args=(own,)) for own in latencies]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [x for own in latencies for x in own], errors[0]


def measure(call: Callable[[], None], *, clients: int, seconds: float) -> dict[str, float]:
    """Run `call` from `clients` threads of this process for `seconds`."""
    start_at = time.time() + 0.05
    latencies, errors = run_threads(
        call, threads=clients, start_at=start_at, stop_at=start_at + seconds
    )
    return figures(latencies, errors, seconds)


def _serve(conn: Connection, make_call: Callable[[Any], Callable[[], None]]) -> None:
    """Client process: run each phase it is sent, answer with its latencies."""
    calls: dict[Any, Callable[[], None]] = {}
    conn.send("ready")
    while (order := conn.recv()) is not None:
        spec, threads, start_at, stop_at = order
        if spec not in calls:
            calls[spec] = make_call(spec)
        conn.send(run_threads(calls[spec], threads=threads, start_at=start_at, stop_at=stop_at))


class ClientPool:
    """`processes` spawned client processes; `measure` spreads the clients over them."""

    def __init__(self, processes: int, make_call: Callable[[Any], Callable[[], None]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns = []
        self.procs = []
        for _ in range(processes):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, make_call), daemon=True)
            proc.start()
            self.conns.append(ours)
            self.procs.append(proc)
        for conn in self.conns:  # each has imported its code and waits for orders
            if not conn.poll(60) or conn.recv() != "ready":
                self.close()
                raise RuntimeError("a client process did not start")

    def measure(self, spec: Any, *, clients: int, seconds: float) -> dict[str, float]:
        """Closed loop: `clients` clients (threads, spread evenly over the processes)."""
        used = min(clients, len(self.conns))
        shares = [clients // used + (i < clients % used) for i in range(used)]
        start_at = time.time() + START_MARGIN
        for conn, share in zip(self.conns, shares, strict=False):
            conn.send((spec, share, start_at, start_at + seconds))
        latencies: list[float] = []
        errors = 0
        for conn in self.conns[:used]:
            own, own_errors = conn.recv()
            latencies += own
            errors += own_errors
        return figures(latencies, errors, seconds)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
