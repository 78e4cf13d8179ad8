"""The folder of one test run that every xdist worker sees, for what is built once per run.

Each worker has a temporary folder of its own (``popen-gw0`` …), all under one parent; a file
built there under a file lock by the first worker that needs it (the demo database without its
cache, the Chengdu import, a shared fit) is read by the others instead of being built again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def run_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """The folder ``name`` (private, made if missing) in the run's folder that all workers
    share: the parent of this worker's temporary folder, or that folder in a run without
    workers."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    folder = root / name
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder
