"""Settings: command-line flag > environment (``ECOBASIN_*``) > ``ecobasin.toml`` > defaults.

The TOML file is ``./ecobasin.toml``, or the path in ``ECOBASIN_CONFIG``. Keys are the field
names below (``db = "data/region.duckdb"``, ``region = "chengdu_plain"``, ``port = 8000``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Where the data lives and how the server listens."""

    model_config = SettingsConfigDict(env_prefix="ECOBASIN_", extra="ignore")

    db: Path = Path("ecobasin.duckdb")
    region: str = "chengdu_plain"
    host: str = "127.0.0.1"
    port: int = 8000
    #: Signs session cookies (ECOBASIN_SECRET_KEY, >= 32 characters); unset: one is generated
    #: at the first start and kept in ``<db>.key`` beside the database, 0600
    #: (ecobasin.store.keyfile; ``ecobasin secret rotate``).
    secret_key: str | None = None
    #: Behaviour events older than this are refused on the ledger API and by ``ledger
    #: record`` (ECOBASIN_LEDGER_MAX_EVENT_AGE_DAYS) [days]; ``ledger record --max-age-days``.
    ledger_max_event_age_days: int = 7
    #: Points one partner's events may earn per China Standard Time day unless ``ecobasin
    #: ledger partner limit`` sets its own (ECOBASIN_LEDGER_PARTNER_DAILY_POINTS) [points].
    ledger_partner_daily_points: int = 20_000
    #: Password verifications (Argon2id, 64 MiB each) at once (ECOBASIN_SIGNIN_SLOTS); unset:
    #: half the machine's cores, 1 to 4 (ecobasin.web.security.ratelimit.default_slots).
    signin_slots: int | None = Field(default=None, ge=1, le=64)
    #: HJ 212 gateway: no DataTime before this (China Standard Time) is acknowledged
    #: (ECOBASIN_GATEWAY_DATATIME_EARLIEST; docs/gateway.md, "DataTime window").
    gateway_datatime_earliest: datetime = datetime(2000, 1, 1)
    #: [s] ... nor one later than the receive time plus this (ECOBASIN_GATEWAY_DATATIME_AHEAD_S).
    gateway_datatime_ahead_s: int = 86_400

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("ECOBASIN_CONFIG", "ecobasin.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))


def load_settings(**overrides: object) -> Settings:
    """Settings with the given command-line values (None means "not given") on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)  # type: ignore[arg-type]
