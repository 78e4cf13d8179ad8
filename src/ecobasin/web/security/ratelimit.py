"""Per-partner rate limits: one token bucket per user (issue 8, "rate limits per partner").

A bucket holds up to ``burst`` requests and refills at ``rate_per_minute``; a request takes one
token or is refused with the seconds until one is back (HTTP 429 with ``Retry-After``, RFC 6585
§4, RFC 9110 §10.2.3). The clock is injected (``time.monotonic`` by default) so tests drive
it without waiting. Buckets live in the process (one ``ecobasin serve``): a restart refills
them, which errs on the partner's side.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


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
