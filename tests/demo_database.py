"""The demo database of the test session: what it is and how a test gets a writable copy.

Built once by the ``demo_database`` fixture (tests/conftest.py); browser fixtures and tests import
these names from here (a conftest module is not importable by name from other folders).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoDatabase:
    """The demo database built once for the session (read-only on disk: copy it to write)."""

    path: Path
    output: str  # what `ecobasin demo --no-serve` printed (the admin's password line included)


def copy_demo(demo: DemoDatabase, folder: Path) -> Path:
    """A writable copy of the demo database in ``folder``."""
    target = folder / "demo.duckdb"
    shutil.copyfile(demo.path, target)
    return target
