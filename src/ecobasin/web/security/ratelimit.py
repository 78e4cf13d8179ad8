"""Rate limits: one token bucket per partner, and the
gate that lets only a few password verifications run at once.

A bucket holds up to ``burst`` requests and refills at ``rate_per_minute``; a request takes one
token or is refused with the seconds until one is back (HTTP 429 with ``Retry-After``, RFC 6585
§4, RFC 9110 §10.2.3). The clock is injected (``time.monotonic`` by default) so tests drive
it without waiting. Buckets live in the process (one ``ecobasin serve``): a restart refills
them, which errs on the partner's side.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread

__all__ = ["GateBusy", "GateStats", "RateLimiter", "VerificationGate", "default_slots"]

T = TypeVar("T")


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets keyed by user id.

    Parameters
    ----------
    clock : callable
        Seconds, monotonic [s].
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: int, rate_per_minute: float, burst: int) -> int:
        """Take one token of ``key``'s bucket: 0 when the request may go, else the whole
        seconds to wait before the next one may [s] (at least 1).

        Parameters
        ----------
        key : int
            The partner's user id.
        rate_per_minute : float
            Refill rate [1/min].
        burst : int
            Bucket size [requests]; a new bucket starts full.
        """
        rate = rate_per_minute / 60.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(key, _Bucket(float(burst), now))
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))


# -- sign-in: at most a few Argon2 verifications at once ------------------------------------
def default_slots() -> int:
    """Verifications allowed at once on this machine: half its cores, 1 to 4. Each Argon2id
    verification holds 64 MiB and one core for a few hundred ms (RFC 9106 §4)."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class GateBusy(Exception):
    """Every verification slot stayed taken while the request waited; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-ins at once; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class GateStats:
    """What the gate did since the server started (the admin API shows it)."""

    slots: int
    in_flight: int = 0
    peak_in_flight: int = 0
    waiting: int = 0
    verified: int = 0
    refused_busy: int = 0


class VerificationGate:
    """Runs password verifications in threads, ``slots`` at a time.

    The others wait in the event loop (no thread, no memory held) for at most ``wait``
    seconds, and no more than ``max_waiting`` of them; beyond either they are refused with
    :class:`GateBusy` (HTTP 429 with ``Retry-After``). Used from one event loop at a time (the
    server's; a test client may bring a new one, which gets a new semaphore).

    Parameters
    ----------
    slots : int
        Verifications at once (default: :func:`default_slots`).
    wait : float
        Longest wait for a slot [s].
    max_waiting : int
        Requests allowed to wait at once (default 8 per slot).
    """

    def __init__(
        self, slots: int | None = None, wait: float = 3.0, max_waiting: int | None = None
    ) -> None:
        self.stats = GateStats(slots=slots or default_slots())
        self._wait = wait
        self._max_waiting = max_waiting or 8 * self.stats.slots
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread once a slot is free.

        Raises
        ------
        GateBusy
            No slot within ``wait`` seconds, or too many waiting already.
        """
        stats = self.stats
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:  # a test client's new loop
            self._semaphore, self._loop = asyncio.Semaphore(stats.slots), loop
        semaphore = self._semaphore
        if stats.waiting >= self._max_waiting:
            stats.refused_busy += 1
            raise GateBusy(1)
        stats.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), self._wait)
        except TimeoutError:
            stats.refused_busy += 1
            raise GateBusy(max(1, math.ceil(self._wait))) from None
        finally:
            stats.waiting -= 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            return await anyio.to_thread.run_sync(function, *args)
        finally:
            stats.in_flight -= 1
            stats.verified += 1
            semaphore.release()
