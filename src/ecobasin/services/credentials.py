"""Secrets and their checks: password hashes and API tokens (the signed session cookies are the
web's: ``web.security.credentials``).

* Passwords: Argon2id (RFC 9106) through ``argon2-cffi``'s ``PasswordHasher``, its cost read
  once per process from :class:`~ecobasin.settings.Settings` (default: RFC 9106 §4's second
  recommended option); a hash made with other parameters is replaced at the next sign-in.
* API tokens: ``eb_<id>_<secret>`` with a 256-bit random secret; the store keeps only the
  SHA-256 of the secret. A slow hash is not needed: guessing a 256-bit secret is hopeless, and a
  fast hash keeps every API call fast.
* Session ids: random, the sessions table keeps their SHA-256 (:func:`digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecobasin.settings import Settings, load_settings

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "digest",
    "dummy_hash",
    "format_token",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "new_secret",
    "parse_token",
    "password_hasher",
    "tokens_equal",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "eb"
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_(\d{{1,10}})_([A-Za-z0-9_-]{{20,200}})$")


def password_hasher(settings: Settings) -> PasswordHasher:
    """The Argon2id hasher of ``settings``' cost (RFC 9106 §3.1: t passes, m [KiB], p lanes);
    hash and salt lengths stay argon2-cffi's (32 and 16 bytes). The production default is
    RFC 9106's low-memory profile (t=3, m=64 MiB, p=4), pinned by a test; the test suite runs
    with a cheap cost (tests/conftest.py)."""
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # read once per process: every hash and verification of a process has the same cost
    return password_hasher(load_settings())


def hash_password(password: str) -> str:
    """The Argon2id hash (PHC string) of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False for a malformed hash)."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash at sign-in)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


_dummy_lock = threading.Lock()


@lru_cache(maxsize=1)
def _make_dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def dummy_hash() -> str:
    """A hash no password matches: a sign-in of an unknown user verifies against it, so the
    answer's timing does not tell which user names exist. Made once, under a lock: a burst
    of unknown names must not run one 64 MiB Argon2 hash each."""
    with _dummy_lock:
        return _make_dummy_hash()


def generate_password() -> str:
    """A random password of 20 URL-safe characters (120 bits), shown once."""
    return secrets.token_urlsafe(15)


def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe secret of ``nbytes`` bytes (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """Hex SHA-256 of a token secret (what the store keeps)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets or digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def format_token(token_id: int, secret: str) -> str:
    """The token a client sends: ``eb_<id>_<secret>``."""
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def parse_token(text: str) -> tuple[int, str] | None:
    """``(id, secret)`` of a well-formed token, else None."""
    match = _TOKEN.match(text.strip())
    return (int(match.group(1)), match.group(2)) if match else None
