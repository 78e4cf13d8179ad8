"""The Argon2id cost of password hashes: production's is pinned here, and the suite runs at a
cheap one (tests/conftest.py, ``TEST_PASSWORD_HASH``) so that its many sign-ins stay fast.

RFC 9106 §4 recommends, second option, Argon2id with t = 3 passes, m = 64 MiB [2**16 KiB] and
p = 4 lanes, which is also argon2-cffi's default: a hash stored before the cost became a setting
must not be rehashed by the default.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from ecobasin.settings import Settings
from ecobasin.web.security import credentials

#: RFC 9106 §4, second recommended option, as argon2-cffi writes it in a PHC string
PRODUCTION_PARAMETERS = "$argon2id$v=19$m=65536,t=3,p=4$"
COST_VARIABLES = (
    "ECOBASIN_PASSWORD_HASH_TIME_COST",
    "ECOBASIN_PASSWORD_HASH_MEMORY_KIB",
    "ECOBASIN_PASSWORD_HASH_PARALLELISM",
)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings as a server reads them with nothing configured (no variable, no TOML file)."""
    for name in COST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ECOBASIN_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return Settings()


def test_production_hashes_use_the_rfc_9106_cost(production: Settings) -> None:
    hasher = credentials.password_hasher(production)
    hashed = hasher.hash("correct horse")
    assert hashed.startswith(PRODUCTION_PARAMETERS), hashed
    assert hasher.verify(hashed, "correct horse")
    # a hash made before the cost was a setting (argon2-cffi's defaults) is kept as it is
    assert not hasher.check_needs_rehash(PasswordHasher().hash("correct horse"))


def test_the_suite_hashes_at_its_cheap_cost_and_production_rehashes_them() -> None:
    cost = [os.environ[name] for name in COST_VARIABLES]  # tests/conftest.py's, or the caller's
    cheap = credentials.hash_password("correct horse")  # this process's cost, read once
    assert cheap.startswith("$argon2id$v=19$m={1},t={0},p={2}$".format(*cost)), cheap
    assert credentials.verify_password(cheap, "correct horse")
    # a server at the production cost accepts such a hash and replaces it at the sign-in
    production = credentials.password_hasher(Settings.model_construct())  # the defaults alone
    assert production.verify(cheap, "correct horse")
    assert production.check_needs_rehash(cheap) == (cost != ["3", "65536", "4"])


def test_a_memory_below_8_kib_per_lane_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECOBASIN_PASSWORD_HASH_MEMORY_KIB", "16")
    monkeypatch.setenv("ECOBASIN_PASSWORD_HASH_PARALLELISM", "4")
    with pytest.raises(ValidationError, match="password_hash_memory_kib = 16"):
        Settings()
