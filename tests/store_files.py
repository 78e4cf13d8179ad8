"""Fresh store files for tests, without paying the migrations each time.

A new DuckDB file runs every migration of ``ecobasin.store.migrations`` (~0.14 s of CPU, and
seconds of wall time on a loaded disk), a copy of a migrated file costs ~0.03 s to open
(docs/measurements.md, "Test suite speed floors, fifth pass"). :func:`new_store_file` makes one
migrated, empty file per test process (the real ``Store``, the real migrations) and hands out
private copies of it; a copy is the file a new ``Store`` makes, to the rows of ``schema_version``
(applied once, when the template was made). :func:`new_synced_store_file` does the same for a
store that also holds the default region's catalog (what ``ecobasin init`` makes: ~0.1 s more of
``sync_catalog`` per store saved). The tests of the migrations themselves, and of what
``ecobasin init`` creates, still make their files from nothing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path
from typing import Any

from ecobasin import catalog
from ecobasin.store import Store


def private_copy(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` (which must not exist), created with mode 0600: never a
    moment readable by others, as ``Store`` keeps its files."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as original, os.fdopen(descriptor, "wb") as copy:
        shutil.copyfileobj(original, copy)
    return target


@cache
def template_folder() -> Path:
    """A private temporary folder (``mkdtemp``: mode 0700) for this process's templates,
    removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="ecobasin-store-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def _template() -> Path:
    """A migrated, empty store file, made once per process."""
    path = template_folder() / "template.duckdb"
    Store(path).close()
    return path


@cache
def _synced_template() -> Path:
    """A migrated store file holding the default region's catalog, made once per process."""
    path = template_folder() / "synced.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
    return path


def new_store_file(path: Path) -> Path:
    """``path`` as a new, migrated, empty store file (mode 0600); ``Store(path)`` then opens
    it as it would have created it."""
    return private_copy(_template(), path)


def new_synced_store_file(path: Path) -> Path:
    """``path`` as a new store file holding the default region's catalog (mode 0600): what
    ``Store(path)`` and ``sync_catalog(catalog.load_region())`` (or ``ecobasin init``) make."""
    return private_copy(_synced_template(), path)


_BUILT: dict[Hashable, Path] = {}


def built_store_file(path: Path, key: Hashable, build: Callable[[Path], Any]) -> Path:
    """``path`` as a private copy (mode 0600) of the store file ``build`` made once per process
    for ``key``: ``build(file)`` fills a new store file (a catalog, sites, a network, accounts)
    and what it returns is ignored. A copy is the file ``build`` would have left at ``path``;
    ``key`` names what ``build`` puts in it (one key, one content)."""
    template = _BUILT.get(key)
    if template is None:
        template = template_folder() / f"built-{len(_BUILT)}.duckdb"
        build(template)
        _BUILT[key] = template
    return private_copy(template, path)
