"""The demo database of the test session: what it is, where it is cached, how a test gets a copy.

``ecobasin demo --no-serve`` costs ~90 s of CPU. The ``demo_database`` fixture (tests/conftest.py)
takes it from a cache in the user's cache folder (``$XDG_CACHE_HOME/ecobasin/demo-db``, mode
0700), keyed by what the build depends on (:func:`cache_key`), and builds it there only when the
key is new: the second run of the suite on the same tree, the same day, does not rebuild it. A
whole-suite run with a cold cache starts the build in a background process at the start
(:func:`start_background_build`), so it is ready, or nearly, when the first demo test needs it.

Browser fixtures and tests import these names from here (a conftest module is not importable by
name from other folders). ``python tests/demo_database.py`` builds the cache entry (what the
background process runs).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

#: The command the demo database is built with (``ecobasin`` arguments, less ``--db``).
DEMO_ARGS = ("demo", "--no-serve", "--year", "2025", "--region", "chengdu_plain")
#: The package whose files (code and catalog data) the build reads.
SOURCE = Path(__file__).resolve().parents[1] / "src" / "ecobasin"
#: Environment that changes what the build writes (the admin's Argon2 cost).
KEY_ENVIRONMENT = (
    "ECOBASIN_PASSWORD_HASH_TIME_COST",
    "ECOBASIN_PASSWORD_HASH_MEMORY_KIB",
    "ECOBASIN_PASSWORD_HASH_PARALLELISM",
)
#: ``ECOBASIN_TEST_DEMO_CACHE=0`` builds into the run's temporary folder instead (no cache).
CACHE_ENV = "ECOBASIN_TEST_DEMO_CACHE"
#: Entries of one checkout kept, the newest among them (each ~190 MB): a checkout's older ones
#: are removed after its build. Other checkouts' entries of the day are theirs to prune.
KEPT_ENTRIES = 2
#: The file in an entry naming the checkout that built it and the UTC day it was built.
ORIGIN_FILE = "origin.txt"


@dataclass(frozen=True)
class DemoDatabase:
    """The demo database built once for the session (read-only on disk: copy it to write)."""

    path: Path
    output: str  # what `ecobasin demo --no-serve` printed (the admin's password line included)


def copy_demo(demo: DemoDatabase, folder: Path) -> Path:
    """A writable copy of the demo database in ``folder``."""
    target = folder / "demo.duckdb"
    shutil.copyfile(demo.path, target)
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return target


def cache_key() -> str:
    """SHA-256 of what the demo build depends on: every file of ``src/ecobasin`` (code and the
    catalog's data; the demo reads nothing under ../shared), the interpreter and the installed
    distributions with their versions, the build's arguments and :data:`KEY_ENVIRONMENT`, and
    the UTC date (the demo dates its cases and forecasts from the clock, so a day-old database
    is not the one a build today makes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file() and _is_source(p)):
        digest.update(path.relative_to(SOURCE).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    installed = sorted(f"{d.name}=={d.version}" for d in metadata.distributions())
    for part in (sys.version, *installed, *DEMO_ARGS):
        digest.update(part.encode() + b"\0")
    for name in KEY_ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name)}".encode() + b"\0")
    digest.update(_today().encode())
    return digest.hexdigest()[:32]


def _is_source(path: Path) -> bool:
    """Whether a file under ``src/ecobasin`` is part of the source (not compiled bytecode)."""
    return "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}


def cache_root() -> Path | None:
    """The private cache folder of demo databases, or None when the cache is off or unsafe
    (a folder another user owns or could write to would let them choose the test data)."""
    if os.environ.get(CACHE_ENV, "1") == "0":
        return None
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = home / "ecobasin" / "demo-db"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return root


def cached_demo(root: Path, key: str) -> DemoDatabase:
    """The cache entry ``key`` under ``root``, built first if it is not there yet.

    The build runs under a file lock, so concurrent runs and xdist workers build it once; the
    output file is written last, so an entry whose build failed half-way is built again.
    """
    entry = root / key
    with FileLock(root / f"{key}.lock"):
        output = entry / "demo-output.txt"
        if not output.exists():
            shutil.rmtree(entry, ignore_errors=True)
            entry.mkdir(mode=0o700)
            (entry / ORIGIN_FILE).write_text(origin_text(), encoding="utf-8")
            build_demo(entry / "demo.duckdb", output)
            _remove_old_entries(root, keep=entry)
    return DemoDatabase(path=entry / "demo.duckdb", output=output.read_text())


def build_demo(db: Path, output: Path) -> None:
    """Build the demo database at ``db`` and write what the command said to ``output``; both
    end read-only for their owner only (the output holds the admin's password)."""
    from typer.testing import CliRunner

    from ecobasin.cli import app

    db.unlink(missing_ok=True)
    clean = {"ECOBASIN_DB": None, "ECOBASIN_REGION": None, "ECOBASIN_CONFIG": None}
    result = CliRunner().invoke(app, [*DEMO_ARGS, "--db", str(db)], env=clean)
    if result.exit_code != 0:
        raise RuntimeError(
            f"ecobasin demo --no-serve failed ({result.exit_code}):\n{result.output}"
        )
    db.chmod(stat.S_IRUSR)
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(result.output)


def origin_text(day: str | None = None) -> str:
    """What :data:`ORIGIN_FILE` says: this checkout's ``src/ecobasin`` and the UTC ``day``
    (default today) on two lines."""
    return f"{SOURCE}\n{day or _today()}\n"


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _origin(entry: Path) -> tuple[str, str]:
    """(checkout, day) of a cache entry; an entry without the file counts as another
    checkout's, built on the day of its last change."""
    try:
        checkout, day = (entry / ORIGIN_FILE).read_text(encoding="utf-8").splitlines()[:2]
    except (OSError, ValueError):
        changed = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
        return "", changed.date().isoformat()
    return checkout, day


def _remove_old_entries(root: Path, keep: Path) -> None:
    """Remove the entries no run will take again: those of an earlier UTC day (the key holds
    the day), and this checkout's beyond its newest :data:`KEPT_ENTRIES` (``keep`` among them).

    All checkouts on a machine share the cache. Pruning the newest few of all of them made
    each checkout's build push out the others' entries of the day, and their next run built
    the demo again (~115 s of CPU; docs/measurements.md, sixth pass). An entry whose lock
    another process holds is being built: it is skipped, not waited for (waiting held this
    run up for the whole of the other build, and then deleted what it had just built).
    """
    ours, today = str(SOURCE), _today()
    entries = sorted(
        (p for p in root.iterdir() if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    kept_of_ours = 1  # keep
    for old in entries:
        checkout, day = _origin(old)
        if day == today and checkout != ours:
            continue  # another checkout's entry of the day
        if day == today and kept_of_ours < KEPT_ENTRIES:
            kept_of_ours += 1
            continue
        _remove_entry(root, old)


def _remove_entry(root: Path, entry: Path) -> None:
    """Remove a cache entry and its lock file, unless another process holds the lock."""
    try:
        with FileLock(root / f"{entry.name}.lock", timeout=0):
            shutil.rmtree(entry, ignore_errors=True)
    except Timeout:
        return  # being built elsewhere
    (root / f"{entry.name}.lock").unlink(missing_ok=True)


def start_background_build() -> subprocess.Popen[bytes] | None:
    """Start building the cache entry in a background process if it is missing (the whole
    suite, cold cache: CI). The process holds the entry's lock while it builds, so the workers'
    ``demo_database`` fixture waits for it instead of building a second one."""
    root = cache_root()
    if root is None or (root / cache_key() / "demo-output.txt").exists():
        return None
    log = root / "background-build.log"
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        return subprocess.Popen([sys.executable, __file__], stdout=handle, stderr=subprocess.STDOUT)


if __name__ == "__main__":
    sys.path.insert(0, str(SOURCE.parent))
    found = cache_root()
    if found is None:
        sys.exit(f"no private cache folder for the demo database (or {CACHE_ENV}=0)")
    print(cached_demo(found, cache_key()).path)
