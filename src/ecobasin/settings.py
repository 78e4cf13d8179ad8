"""Settings: command-line flag > environment (``ECOBASIN_*``) > ``ecobasin.toml`` > defaults.

The TOML file is ``./ecobasin.toml``, or the path in ``ECOBASIN_CONFIG``. Keys are the field
names below (``db = "data/region.duckdb"``, ``region = "chengdu_plain"``, ``port = 8000``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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
    #: The user's own cities or districts, a TOML or GeoJSON file (ECOBASIN_CITIES;
    #: docs/regions.md): added to the national catalog, usable in any region file.
    cities: Path | None = None
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
    # The Argon2id cost of password hashes (ecobasin.web.security.credentials): RFC 9106 §4,
    # second recommended option, which is argon2-cffi's default. A hash made with other values
    # is replaced at the user's next sign-in. Lower them only for tests (tests/conftest.py):
    # each verification costs an attacker what it costs the server.
    #: Passes over memory (ECOBASIN_PASSWORD_HASH_TIME_COST) [iterations].
    password_hash_time_cost: int = Field(default=3, ge=1)
    #: Memory per hash (ECOBASIN_PASSWORD_HASH_MEMORY_KIB) [KiB]; at least 8 per lane.
    password_hash_memory_kib: int = Field(default=65_536, ge=8)
    #: Lanes (ECOBASIN_PASSWORD_HASH_PARALLELISM) [threads].
    password_hash_parallelism: int = Field(default=4, ge=1, le=64)
    #: HJ 212 gateway: no DataTime before this (China Standard Time) is acknowledged
    #: (ECOBASIN_GATEWAY_DATATIME_EARLIEST; docs/gateway.md, "DataTime window").
    gateway_datatime_earliest: datetime = datetime(2000, 1, 1)
    #: [s] ... nor one later than the receive time plus this (ECOBASIN_GATEWAY_DATATIME_AHEAD_S).
    gateway_datatime_ahead_s: int = 86_400
    # The gateway's listening and limits (``ecobasin gateway``'s flags override them; each is
    # ECOBASIN_GATEWAY_<NAME> in the environment, ``gateway_<name>`` in ecobasin.toml).
    #: Listen address (ECOBASIN_GATEWAY_HOST).
    gateway_host: str = "127.0.0.1"
    #: TCP port (ECOBASIN_GATEWAY_PORT); HJ 212 fixes none, 9212 is ours.
    gateway_port: int = Field(default=9212, ge=0, le=65_535)
    #: Raw-log directory; unset: ``<db>.rawlog/`` beside the database.
    gateway_raw_log: Path | None = None
    #: Durability before the ack: batch (group commit), interval, off.
    gateway_fsync: str = "batch"
    #: Connection cap.
    gateway_max_connections: int = Field(default=10_000, ge=1)
    #: [s] A connection with no frame for this long is closed.
    gateway_idle_timeout_s: float = Field(default=300.0, gt=0)
    #: Accept 17-digit DataTime (milliseconds) where 表4 says N14.
    gateway_lenient: bool = False
    #: [s] Period of the status line.
    gateway_status_every_s: float = Field(default=10.0, gt=0)
    #: [MiB] Raw-log segment size.
    gateway_segment_mib: int = Field(default=64, ge=1)
    #: [h] Raw-log segment age before rotating.
    gateway_segment_hours: float = Field(default=24.0, gt=0)
    #: [days] Stored raw-log segments older than this are deleted (or archived); 0 keeps all.
    gateway_retention_days: float = Field(default=30.0, ge=0)
    #: Retired segments move here instead of being deleted.
    gateway_archive: Path | None = None
    #: [days] Window of the duplicate check.
    gateway_dedup_days: float = Field(default=7.0, gt=0)
    #: Framing errors since the last valid frame after which a connection is closed.
    gateway_max_frame_errors: int = Field(default=16, ge=1)
    #: [KiB] Bytes without a valid frame after which a connection is closed.
    gateway_max_unframed_kib: int = Field(default=16, ge=2)
    #: Problems written to ``rejected`` one by one per peer address and minute.
    gateway_reject_samples: int = Field(default=20, ge=0)
    #: NATS JetStream broker (``nats://host:port``, comma-separated for a cluster): acks after
    #: the broker's publish ack (docs/gateway-scaling.md, "Broker"); unset: the raw log's fsync.
    gateway_broker: str | None = None
    #: Copies of the broker's stream and device bucket when the gateway creates them.
    gateway_broker_replicas: int = Field(default=1, ge=1, le=5)
    #: With the broker, also decode every frame into the gateway's own store (one machine
    #: whose dashboard reads it); off: the store writers behind the broker decode.
    gateway_broker_store_locally: bool = False
    #: NATS user of this process's role (ECOBASIN_BROKER_USER; docs/security.md, "Broker"):
    #: gateways and store writers log in with their own users; unset: anonymous.
    broker_user: str | None = None
    #: File holding that user's password, first line, mode 0600 (ECOBASIN_BROKER_PASSWORD_FILE);
    #: never a flag, so no password shows in a process list.
    broker_password_file: Path | None = None
    #: PEM file of the CA that signed the broker's TLS certificate (ECOBASIN_BROKER_CA_FILE,
    #: ``--broker-ca``): set, clients speak TLS to the broker (docs/security.md, "Broker").
    broker_ca_file: Path | None = None
    #: This client's certificate and key (PEM; the key 0600) for a broker that verifies clients
    #: (ECOBASIN_BROKER_CERT_FILE, ECOBASIN_BROKER_KEY_FILE).
    broker_cert_file: Path | None = None
    broker_key_file: Path | None = None
    # E-mail of notifications (services/notify.py): unset host, in-app notifications only.
    #: SMTP server (ECOBASIN_SMTP_HOST).
    smtp_host: str | None = None
    #: SMTP port (ECOBASIN_SMTP_PORT).
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    #: Sender address (ECOBASIN_SMTP_FROM).
    smtp_from: str = "ecobasin@localhost"
    #: [s] Connection and command timeout (ECOBASIN_SMTP_TIMEOUT_S).
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    #: [working days] Rectification cases: remind the responsible unit's contacts this many
    #: working days before a deadline (and again once overdue) (ECOBASIN_CASE_REMINDER_WD).
    case_reminder_wd: int = Field(default=3, ge=0, le=60)
    #: The address people open the platform at, for links in e-mails (ECOBASIN_PUBLIC_URL).
    public_url: str = "http://localhost:8000"
    # Bulletins on a schedule inside ``serve`` (issue 19; services/report_schedule.py).
    #: Write the bulletins of the month, quarter and year just ended (ECOBASIN_REPORTS_SCHEDULED);
    #: off by default: each writing renders PDFs for a minute or more of one core.
    reports_scheduled: bool = False
    #: The day of the next month they are written on or after [1–28] (ECOBASIN_REPORTS_DAY).
    reports_day: int = Field(default=5, ge=1, le=28)
    #: Languages written (ECOBASIN_REPORTS_LANGS, JSON list): zh first, en available.
    reports_langs: list[Literal["zh", "en"]] = ["zh", "en"]
    #: Addresses mailed when a bulletin is written or rewritten (ECOBASIN_REPORTS_SUBSCRIBERS).
    reports_subscribers: list[str] = []

    # The lake (docs/architecture.md, "History in Delta Lake"; ``ecobasin lake export``).
    #: Folder of the Delta Lake history (ECOBASIN_LAKE); unset: ``<db>.lake/`` beside the
    #: database.
    lake: Path | None = None
    #: A month is closed, and may move to the lake, this long after its last day (China
    #: Standard Time): no late data is expected after it (ECOBASIN_LAKE_CLOSED_AFTER_DAYS)
    #: [days].
    lake_closed_after_days: int = Field(default=10, ge=0)
    #: Memory limit of each Dask worker of the LocalCluster ``ecobasin evaluate --engine dask``
    #: starts when no scheduler is given (ECOBASIN_DASK_WORKER_MEMORY) [bytes; "2GiB" allowed].
    dask_worker_memory: str = "1GiB"
    #: Worker processes of that LocalCluster (ECOBASIN_DASK_WORKERS), one thread each.
    dask_workers: int = Field(default=2, ge=1, le=256)

    @model_validator(mode="after")
    def _argon2_memory_covers_its_lanes(self) -> Settings:
        # Argon2 needs 8 KiB per lane (RFC 9106 §3.1: m >= 8 * p)
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                f"password_hash_memory_kib = {self.password_hash_memory_kib} is below 8 KiB per "
                f"lane (password_hash_parallelism = {self.password_hash_parallelism})"
            )
        return self

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
