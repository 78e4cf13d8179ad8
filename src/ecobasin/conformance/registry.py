"""The registry of conformance case kinds: ``kind`` -> handler(input) -> output dict.

The kind modules (:mod:`~ecobasin.conformance.air`, ``water``, ``carbon``) register their handlers
here on import; the runner (:mod:`ecobasin.conformance`) imports them all first, so the registry
is full before any case runs, without an import at the end of a module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["HANDLERS", "Handler", "number", "register"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]

#: kind -> handler(input) -> output dict
HANDLERS: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    """Decorator registering a handler for a case kind."""

    def deco(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return deco


def number(x: float | None) -> float | int | None:
    """A JSON number: integers without ``.0``, NaN and infinities as null."""
    if x is None:
        return None
    f = float(x)
    if not math.isfinite(f):
        return None
    return int(f) if f.is_integer() else f
