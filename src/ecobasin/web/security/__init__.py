"""Rights: who may read and write what.

* :mod:`.policy` — roles, actions and the one function that decides (pure).
* :mod:`.credentials` — Argon2id password hashes, API tokens, signed session cookies.
* :mod:`.accounts` — users, tokens, sign-in (limits per user and address, checked and charged
  before verification) and its log, sessions, the cookie key, the demo's admin.
* :mod:`.ratelimit` — token buckets per partner (the ledger API's rate limits) and the gate
  that runs a few Argon2 verifications at a time.
* :mod:`.deps` — FastAPI dependencies: ``CurrentPrincipal``, ``require(action)``,
  :func:`~.deps.authorize`; 401/403 as problem details; CSRF checks.
* :mod:`.pages` — ``/signin``, ``/signout``, ``/admin`` (imported by the app, not here).

SQL lives in :mod:`ecobasin.store.users`. See ``docs/security.md``.
"""

from ecobasin.web.security.accounts import ensure_demo_admin
from ecobasin.web.security.policy import PUBLIC, Principal, can, denial

__all__ = ["PUBLIC", "Principal", "can", "denial", "ensure_demo_admin"]
