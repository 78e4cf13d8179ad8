"""The demo database's cache between runs (tests/demo_database.py): keyed by what the build reads,
private, rebuilt after a half-finished build, and pruned. The build itself (~90 s of CPU) is the
real ``ecobasin demo`` in the ``demo_database`` fixture; here a recorder stands in for it so the
cache's own decisions are checked in milliseconds."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from pathlib import Path

import pytest

import demo_database as cache

#: [s] a bound for a hang (a lock waited for), not a performance limit
HANG_BOUND_S = 60.0


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small stand-in for ``src/ecobasin`` that the key hashes."""
    root = tmp_path / "src" / "ecobasin"
    (root / "catalog").mkdir(parents=True)
    (root / "__init__.py").write_text("VERSION = 1\n")
    (root / "catalog" / "cities.toml").write_text("[chengdu]\ncode = 510100\n")
    monkeypatch.setattr(cache, "SOURCE", root)
    return root


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records each build instead of running ``ecobasin demo`` (it writes what a build writes)."""
    done: list[Path] = []

    def build(db: Path, output: Path) -> None:
        done.append(db)
        db.write_bytes(b"duckdb")
        output.write_text("demo ready\n")

    monkeypatch.setattr(cache, "build_demo", build)
    return done


def test_the_key_follows_code_and_data_but_not_bytecode(package: Path) -> None:
    first = cache.cache_key()
    assert cache.cache_key() == first
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert cache.cache_key() == first
    (package / "catalog" / "cities.toml").write_text("[chengdu]\ncode = 510101\n")
    changed = cache.cache_key()
    assert changed != first
    (package / "catalog" / "new.csv").write_text("a\n")
    assert cache.cache_key() != changed


def test_the_key_follows_the_password_hash_cost(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.cache_key()
    monkeypatch.setenv("ECOBASIN_PASSWORD_HASH_TIME_COST", "7")
    assert cache.cache_key() != first


def test_the_cache_folder_is_private_and_refused_when_others_can_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    root = cache.cache_root()
    assert root == tmp_path / "ecobasin" / "demo-db"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    root.chmod(0o777)
    assert cache.cache_root() is None
    root.chmod(0o700)
    monkeypatch.setenv(cache.CACHE_ENV, "0")
    assert cache.cache_root() is None


def test_a_second_run_takes_the_entry_and_a_half_build_is_redone(
    tmp_path: Path, builds: list[Path]
) -> None:
    first = cache.cached_demo(tmp_path, "k1")
    again = cache.cached_demo(tmp_path, "k1")
    assert builds == [tmp_path / "k1" / "demo.duckdb"]  # built once, then taken from the cache
    assert again == first and again.output == "demo ready\n"
    assert stat.S_IMODE((tmp_path / "k1").stat().st_mode) == 0o700
    (tmp_path / "k1" / "demo-output.txt").unlink()  # a build that died before its last write
    cache.cached_demo(tmp_path, "k1")
    assert len(builds) == 2


def test_old_entries_are_removed_after_a_build(tmp_path: Path, builds: list[Path]) -> None:
    for number, key in enumerate(("k1", "k2", "k3")):
        cache.cached_demo(tmp_path, key)
        os.utime(tmp_path / key, (number, number))  # k1 oldest
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["k2", "k3"]
    assert len(builds) == 3


def test_an_entry_being_built_elsewhere_is_skipped_not_waited_for(
    tmp_path: Path, builds: list[Path]
) -> None:
    """Another run (another checkout sharing the cache) building an old entry holds its lock:
    pruning skips it, instead of waiting for the whole build and then deleting its result."""
    for number, key in enumerate(("k1", "k2")):
        cache.cached_demo(tmp_path, key)
        os.utime(tmp_path / key, (number, number))  # k1 oldest
    with open(tmp_path / "k1.lock", "a") as held:  # the other run's lock: a flock of its own
        fcntl.flock(held, fcntl.LOCK_EX)
        pruning = threading.Thread(target=cache.cached_demo, args=(tmp_path, "k3"), daemon=True)
        pruning.start()
        pruning.join(timeout=HANG_BOUND_S)
        waited = pruning.is_alive()
        fcntl.flock(held, fcntl.LOCK_UN)
    pruning.join()
    assert not waited, "pruning waited for the lock of an entry being built elsewhere"
    assert (tmp_path / "k1").is_dir()  # left to its builder
    assert (tmp_path / "k3" / "demo-output.txt").exists()


def test_entries_of_other_checkouts_stay_and_entries_of_past_days_go(
    tmp_path: Path, builds: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """All checkouts on a machine share the cache: one checkout's builds prune its own older
    entries, never another checkout's entry of today (that run would build it again, ~115 s of
    CPU), while an entry of an earlier day can never be hit again (the key holds the day)."""
    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setattr(cache, "SOURCE", tmp_path / "other" / "src" / "ecobasin")
    cache.cached_demo(root, "theirs")
    cache.cached_demo(root, "theirs-old")
    (root / "theirs-old" / cache.ORIGIN_FILE).write_text(
        cache.origin_text(day="2020-01-01"), encoding="utf-8"
    )  # built by that checkout on an earlier day
    monkeypatch.setattr(cache, "SOURCE", tmp_path / "mine" / "src" / "ecobasin")
    for number, key in enumerate(("m1", "m2", "m3")):
        cache.cached_demo(root, key)
        os.utime(root / key, (number, number))  # m1 oldest, older than theirs too
    left = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert left == ["m2", "m3", "theirs"]
