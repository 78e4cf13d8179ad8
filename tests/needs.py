"""The one rule for what a test needs from outside the repository (``../shared``, a browser).

Outside a full checkout (a user's clone) the test is skipped with the reason; under CI (env
``CI`` set) it fails, because there a missing folder or program is a broken set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ``../shared`` beside the repository: real data sets and the conformance cases (read-only)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
#: small real samples kept in the repository (tests/data/README.md: provenance and licences)
DATA = Path(__file__).resolve().parent / "data"


def require(path: Path, what: str, remedy: str = "it sits beside a full checkout") -> Path:
    """``path`` if it exists; else skip the test (a user's checkout) or fail it (CI).

    Parameters
    ----------
    path : Path
        The file or folder the test reads.
    what : str
        What it is, for the message (``"the hand-checked cases of the standards"``).
    remedy : str
        How one gets it.
    """
    if path.exists():
        return path
    message = f"{what} missing at {path} ({remedy})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must have it")
    pytest.skip(message)
