"""Resource limits of the server and the plausibility window of observation times.

Configured like :mod:`ecobasin.settings` (environment ``ECOBASIN_*`` > ``ecobasin.toml`` >
defaults), in a class of their own so the web shell, the importers and the gateway read the
same numbers. Every limit has a default that keeps one shared machine responsive.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecobasin.ingest.validate import DEFAULT_TIME_MAX_AHEAD, DEFAULT_TIME_MIN, TimeWindow
from ecobasin.settings import Settings

__all__ = [
    "Limits",
    "configured_limits",
    "cookie_cve_warning",
    "load_limits",
    "plausible_window",
]

MIB = 1024 * 1024


class Limits(BaseSettings):
    """Sizes, rates and windows (``ECOBASIN_MAX_BODY_BYTES=…`` or ``max_body_bytes = …``)."""

    model_config = SettingsConfigDict(env_prefix="ECOBASIN_", extra="ignore")
    settings_customise_sources = Settings.__dict__["settings_customise_sources"]

    #: Largest request body [bytes]; larger ones get 413 before they are read.
    max_body_bytes: int = Field(default=8 * MIB, ge=1024)
    #: Largest request head (request line and all headers) [bytes], enforced by h11.
    max_header_bytes: int = Field(default=16 * 1024, ge=4096)
    #: Largest ``Cookie`` header [bytes]; larger ones get 431 before any cookie is parsed.
    max_cookie_bytes: int = Field(default=8 * 1024, ge=512)
    #: Largest observation page [rows] for the public (no credentials).
    public_page_rows: int = Field(default=10_000, ge=1)
    #: A page of more rows than this is a heavy export [rows].
    heavy_export_rows: int = Field(default=10_000, ge=1)
    #: Heavy exports running at once; more get 429 with Retry-After.
    heavy_exports: int = Field(default=2, ge=1)
    #: Seconds a client is told to wait (Retry-After) when the exports are busy [s].
    export_retry_after_s: int = Field(default=5, ge=1)
    #: Public base URL of the API for paging links (``https://eco.example.org``); unset:
    #: links are relative (``/api/v1/...``), never built from the request's Host header.
    public_url: str | None = None
    #: Observations before this day [UTC] are implausible (``ECOBASIN_TIME_MIN``): the API
    #: refuses them, imports and the gateway keep them aside as ``implausible_time``.
    time_min: date = DEFAULT_TIME_MIN
    #: ... and so are observations dated more than this after the clock
    #: (``ECOBASIN_TIME_MAX_AHEAD``, e.g. ``P1D`` or seconds) [duration].
    time_max_ahead: timedelta = DEFAULT_TIME_MAX_AHEAD

    def window(self, now: datetime | None = None) -> TimeWindow:
        """The plausibility window around ``now`` (default: the clock)."""
        clock = now if now is not None else datetime.now(UTC)
        return TimeWindow(clock, self.time_min, self.time_max_ahead)


def load_limits(**overrides: object) -> Limits:
    """Limits with the given values (None means "not given") on top of the configuration."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Limits(**given)  # type: ignore[arg-type]


@cache
def configured_limits() -> Limits:
    """The configured limits, read once per process (hot paths: the gateway, imports)."""
    return load_limits()


def plausible_window(now: datetime | None = None) -> TimeWindow:
    """The configured plausibility window around ``now`` (default: the clock)."""
    return configured_limits().window(now)


def cookie_cve_warning(version: tuple[int, int, int] | None = None) -> str | None:
    """The start-up warning for a Python whose ``http.cookies`` parser is quadratic
    (CVE-2024-7592: fixed in 3.11.10, 3.12.6 and 3.13), None on a fixed one.

    The server caps the Cookie header whatever the version; the warning says to upgrade.
    """
    major, minor, micro = version or sys.version_info[:3]
    fixed = {11: 10, 12: 6}.get(minor)
    if major != 3 or minor >= 13 or fixed is None or micro >= fixed:
        return None
    return (
        f"Python {major}.{minor}.{micro} has CVE-2024-7592 (quadratic cookie parsing in "
        f"http.cookies); ecobasin refuses Cookie headers above the configured cap, but "
        f"upgrade to Python {major}.{minor}.{fixed} or newer"
    )
