"""Accounts as the admin API, the admin page and ``ecobasin users`` read them: users, API
tokens (their hashes never leave the store), the audit log and the sign-in log
(``docs/security.md``).

The SQL stays in :mod:`ecobasin.store.users`.
"""

from __future__ import annotations

from ecobasin.store.users import (
    AuditEntry,
    SigninEntry,
    TokenRow,
    UserRow,
    audit_entries,
    list_tokens,
    list_users,
    signin_entries,
    token,
    user_by_name,
)

__all__ = [
    "AuditEntry",
    "SigninEntry",
    "TokenRow",
    "UserRow",
    "audit_entries",
    "list_tokens",
    "list_users",
    "signin_entries",
    "token",
    "user_by_name",
]
