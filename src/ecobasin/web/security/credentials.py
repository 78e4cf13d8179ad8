"""Secrets and their checks: password hashes, API tokens, signed session cookies.

* Passwords: Argon2id (RFC 9106) through ``argon2-cffi``'s ``PasswordHasher`` with its default
  parameters; a hash made with older parameters is replaced at the next sign-in.
* API tokens: ``eb_<id>_<secret>`` with a 256-bit random secret; the store keeps only the
  SHA-256 of the secret. A slow hash is not needed: guessing a 256-bit secret is hopeless, and a
  fast hash keeps every API call fast.
* Session cookies: the user id and a random session id, signed with ``itsdangerous`` (HMAC,
  timestamped) so a cookie cannot be forged or altered; the sessions table lets sign-out and
  disabling a user revoke it before it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SessionCookie",
    "SessionSigner",
    "digest",
    "format_token",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "new_secret",
    "parse_token",
    "tokens_equal",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "eb"
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_(\d{{1,10}})_([A-Za-z0-9_-]{{20,200}})$")

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


def hash_password(password: str) -> str:
    """The Argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash at sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verify(password: str) -> None:
    """Spend the time of one verification (sign-in of an unknown user), so the answer's
    timing does not tell which user names exist."""
    verify_password(_dummy_hash(), password)


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


@dataclass(frozen=True)
class SessionCookie:
    """What a session cookie carries."""

    user_id: int
    session_id: str


class SessionSigner:
    """Signs and checks session cookies with the app's secret key.

    Parameters
    ----------
    secret_key : str
        At least 32 characters; from ``ECOBASIN_SECRET_KEY`` or generated once and stored.
    max_age : int
        Seconds a cookie is accepted after it was signed [s].
    """

    def __init__(self, secret_key: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret_key, salt="ecobasin-session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self.max_age = max_age

    def dumps(self, cookie: SessionCookie) -> str:
        return self._serializer.dumps({"u": cookie.user_id, "s": cookie.session_id})

    def loads(self, value: str) -> SessionCookie | None:
        """The cookie's content, or None when it is forged, altered or too old."""
        try:
            data: Any = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict):
            return None
        user_id, session_id = data.get("u"), data.get("s")
        if not isinstance(user_id, int) or not isinstance(session_id, str):
            return None
        return SessionCookie(user_id, session_id)
