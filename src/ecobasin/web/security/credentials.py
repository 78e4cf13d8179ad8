"""Signed session cookies, and the secrets' checks of :mod:`ecobasin.services.credentials`
(password hashes, API tokens) for the web's callers.

* Session cookies: the user id and a random session id, signed with ``itsdangerous`` (HMAC,
  timestamped) so a cookie cannot be forged or altered; the sessions table keeps the SHA-256
  of the id and lets sign-out and disabling a user revoke it before it expires. The CSRF
  token is derived from the session id and the key, never stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ecobasin.services.credentials import (
    MIN_PASSWORD_LENGTH,
    digest,
    dummy_hash,
    format_token,
    generate_password,
    hash_password,
    needs_rehash,
    new_secret,
    parse_token,
    password_hasher,
    tokens_equal,
    verify_password,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SessionCookie",
    "SessionSigner",
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
        At least 32 characters; ``ECOBASIN_SECRET_KEY``, else the key file beside the
        database (:mod:`ecobasin.store.keyfile`).
    max_age : int
        Seconds a cookie is accepted after it was signed [s].
    """

    def __init__(self, secret_key: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret_key, salt="ecobasin-session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self.max_age = max_age
        self._key = secret_key.encode()

    def csrf_token(self, session_id: str) -> str:
        """The session's CSRF token: HMAC-SHA256 of its id under the key, so it is never
        stored and a copy of the database cannot produce it (synchronizer token, OWASP ASVS
        4.0 §4.2.2)."""
        mac = hmac.new(self._key, b"csrf:" + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

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
