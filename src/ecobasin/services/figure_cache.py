"""Rendered figures kept by a digest of what they are drawn from.

A source page shows seven server-drawn figures (the five source plots, the PSCF and CWT maps),
each 0.5–2 CPU-s of matplotlib, and a reader who opens the page again, goes back to a choice or
shares its address asks for the same figures again. :class:`DigestCache` keeps the bytes of a
figure under a key made from *every* input of its drawing (the values read from the store, the
station's names, the period and the options), so the key changes when the data change and a
stale figure is never served: it is only never asked for again, and falls out when the cache is
over its budget (least recently used first). The same cache, counted in entries instead of
bytes, keeps other results computed from store frames (the forecast verification scores).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import pandas as pd

__all__ = ["FIGURES", "DigestCache", "digest"]

#: [bytes] what the process keeps of drawn figures (a source plot's PNG is ~40–120 kB)
BUDGET = 32 * 1024 * 1024


def _part(value: Any) -> bytes:
    """The bytes one input contributes to a key: a frame or series by its values, index, names
    and dtypes; anything else by its type and ``repr``."""
    if isinstance(value, pd.DataFrame | pd.Series):
        values = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        names = list(value.columns) if isinstance(value, pd.DataFrame) else [value.name]
        dtypes = list(value.dtypes) if isinstance(value, pd.DataFrame) else [value.dtype]
        return repr((type(value).__name__, names, [str(d) for d in dtypes])).encode() + values
    return repr((type(value).__name__, value)).encode()


def digest(parts: Iterable[Any]) -> bytes:
    """A SHA-256 over ``parts`` in order (each part length-prefixed, so parts cannot blur)."""
    hasher = hashlib.sha256()
    for part in parts:
        encoded = _part(part)
        hasher.update(len(encoded).to_bytes(8, "little"))
        hasher.update(encoded)
    return hasher.digest()


Kept = TypeVar("Kept")


class DigestCache(Generic[Kept]):
    """Values by key (a :func:`digest`), least recently used dropped first once their sizes
    (``size`` of each: its bytes by default) pass ``budget``."""

    def __init__(self, budget: int = BUDGET, size: Callable[[Any], int] = len) -> None:
        self._budget = budget
        self._size = size
        self._held = 0
        self._kept: OrderedDict[bytes, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_draw(self, key: bytes, draw: Callable[[], Kept]) -> Kept:
        """The value kept under ``key``, or ``draw()``'s, kept for the next ask.

        Drawing happens outside the lock: two threads asking for the same new value both draw
        it (the same value), and neither waits for the other's to be drawn.
        """
        with self._lock:
            value = self._kept.get(key)
            if value is not None:
                self._kept.move_to_end(key)
                return value
        value = draw()
        self._keep(key, value)
        return value

    def _keep(self, key: bytes, value: Kept) -> None:
        size = self._size(value)
        if size > self._budget:
            return
        with self._lock:
            if key in self._kept:
                return
            self._kept[key] = value
            self._held += size
            while self._held > self._budget:
                _, dropped = self._kept.popitem(last=False)
                self._held -= self._size(dropped)

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)


#: The process's figures (the server's threads share them).
FIGURES: DigestCache[bytes] = DigestCache()
