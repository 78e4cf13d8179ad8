"""The HJ 212 acquisition gateway: TCP server, raw log, device registry, store writer, replay.

See ``docs/gateway.md``. The codec it stands on is :mod:`ecobasin.ingest.hj212` (pure).
"""

from __future__ import annotations

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
