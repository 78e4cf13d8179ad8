"""tests/garbage.py: the module-end collection, cheap since it freezes what survives, still
finds what a module leaves behind."""

from __future__ import annotations

import gc
import socket

from garbage import collect_young_garbage


class _Holder:
    """An object in a reference cycle with itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self
        self.conn = socket.socket()  # left open: its finalizer warns (ResourceWarning)


def test_a_cycle_made_after_the_freeze_is_found_with_its_warning() -> None:
    collect_young_garbage()  # what the earlier modules left is frozen now
    frozen = gc.get_freeze_count()
    _Holder()
    said = collect_young_garbage()
    warnings = [u for u in said if isinstance(u.exc_value, ResourceWarning)]
    assert len(warnings) == 1, said
    assert "socket" in repr(warnings[0].object) or "socket" in str(warnings[0].exc_value)
    assert gc.get_freeze_count() >= frozen  # the survivors stay frozen


def test_what_survives_is_frozen_and_not_walked_again() -> None:
    kept: list[list[int]] = []  # alive across the call, tracked by the collector
    assert any(o is kept for o in gc.get_objects())
    collect_young_garbage()
    assert not any(o is kept for o in gc.get_objects())  # frozen: out of every generation
