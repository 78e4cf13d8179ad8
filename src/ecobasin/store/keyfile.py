"""The cookie-signing key, kept outside the database: a 0600 file beside it (``<db>.key``).

A copy of the database file alone then cannot forge a session cookie (OWASP
ASVS 4.0 §6.4.1, keys kept apart from the data they protect). The key is made at first use,
atomically (two processes starting together end with the same key), and replaced by
:func:`rotate_key` (``ecobasin secret rotate``), which signs everyone out. The web app reloads
it when the file changes, so a rotation takes effect without a restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

__all__ = ["KEY_BYTES", "key_path", "key_stamp", "read_or_create_key", "rotate_key"]

log = logging.getLogger("ecobasin.security")

#: Random bytes of a new key (384 bits, URL-safe base64: 64 characters).
KEY_BYTES = 48
PRIVATE_FILE = 0o600


def key_path(db: Path) -> Path:
    """Where the key of the database ``db`` lives: ``<db>.key`` beside it."""
    return db.with_name(db.name + ".key")


def key_stamp(db: Path) -> tuple[int, int] | None:
    """(mtime [ns], inode) of the key file, None when there is none: changes on rotation."""
    try:
        status = key_path(db).stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_ino


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file created 0600 (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:  # readable by others: tighten now, and say so (it may have leaked)
        log.warning(
            "%s was readable by others (mode %o): made 0600; consider a rotation", path, mode
        )
        path.chmod(PRIVATE_FILE)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable key (< 32 characters): rotate it")
    return key


def read_or_create_key(db: Path) -> str:
    """The key of ``db``; made (0600) when there is none yet."""
    path = key_path(db)
    if not path.exists():
        temporary = _temporary(path)
        _write_private(temporary, secrets.token_urlsafe(KEY_BYTES))
        try:
            os.link(temporary, path)  # atomic; fails when another process made it first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return _read(path)


def rotate_key(db: Path) -> str:
    """Replace the key of ``db`` by a new one (atomically); every session cookie signed with
    the old key stops working. Returns the new key."""
    path = key_path(db)
    temporary = _temporary(path)
    key = secrets.token_urlsafe(KEY_BYTES)
    _write_private(temporary, key)
    try:
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return key
