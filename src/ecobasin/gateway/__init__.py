"""The HJ 212 acquisition gateway: TCP server, raw log, device registry, store writer, replay.

See ``docs/gateway.md``. The codec it stands on is :mod:`ecobasin.ingest.hj212` (pure).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecobasin.gateway.devices import (
        SITE_DOMAINS,
        Device,
        DeviceError,
        load_devices,
        register_devices,
        set_device_enabled,
    )
    from ecobasin.gateway.rawlog import RawLog, RawLogError, RawRecord, log_id_of, read_records
    from ecobasin.gateway.replay import replay
    from ecobasin.gateway.server import (
        FSYNC_POLICIES,
        Gateway,
        GatewayConfig,
        GatewayStats,
        default_raw_log,
    )
    from ecobasin.gateway.writer import StoreWriter, WriteReport

__all__ = [
    "FSYNC_POLICIES",
    "SITE_DOMAINS",
    "Device",
    "DeviceError",
    "Gateway",
    "GatewayConfig",
    "GatewayStats",
    "RawLog",
    "RawLogError",
    "RawRecord",
    "StoreWriter",
    "WriteReport",
    "default_raw_log",
    "load_devices",
    "log_id_of",
    "read_records",
    "register_devices",
    "replay",
    "set_device_enabled",
]

#: Where each name lives: imported on first use, so the front process (``gateway.front``,
#: no pandas, no DuckDB) starts fast and small.
_HOMES = {
    "SITE_DOMAINS": "devices",
    "Device": "devices",
    "DeviceError": "devices",
    "load_devices": "devices",
    "register_devices": "devices",
    "set_device_enabled": "devices",
    "RawLog": "rawlog",
    "RawLogError": "rawlog",
    "RawRecord": "rawlog",
    "log_id_of": "rawlog",
    "read_records": "rawlog",
    "replay": "replay",
    "FSYNC_POLICIES": "server",
    "Gateway": "server",
    "GatewayConfig": "server",
    "GatewayStats": "server",
    "default_raw_log": "server",
    "StoreWriter": "writer",
    "WriteReport": "writer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
