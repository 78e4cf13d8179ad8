"""Suite-wide fixtures: where the real shared data sets live.

``../shared/data`` and ``../shared/testdata`` sit beside a full checkout of the project. A user's
clone does not have them: tests that need them are skipped there with the reason, and fail under
CI (env ``CI`` set), where a missing folder means a broken set-up, not a user's machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _shared_folder(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(
                f"../shared/{name} ({path}) is missing under CI: the real data sets must be there"
            )
        pytest.skip(
            f"../shared/{name} is not beside this clone (a user's checkout); "
            "these tests read the real data sets"
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the real data sets (CNEMC snapshot, UCI files, station list)."""
    return _shared_folder("data")


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """``../shared/testdata``: the hand-checked cases of the standards."""
    return _shared_folder("testdata")
