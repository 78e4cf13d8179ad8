"""Settings: command-line flag > environment (``ECOBASIN_*``) > ``ecobasin.toml`` > defaults.

The TOML file is ``./ecobasin.toml``, or the path in ``ECOBASIN_CONFIG``. Keys are the field
names below (``db = "data/region.duckdb"``, ``region = "chengdu_plain"``, ``port = 8000``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

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
    #: at the first start and kept in the store (ecobasin.web.security.accounts.session_key).
    secret_key: str | None = None
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
