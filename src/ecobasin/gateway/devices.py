"""The device registry: which HJ 212 devices (MN) may send data, with which password, for which
site (HJ 212-2017 表3 MN, PW).

A device belongs to one site; the site's kind says which parameter domains its factor codes
mean (a21026 is ambient SO2 at an air station, flue-gas SO2 at a stack outlet).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ecobasin.ingest.hj212 import CrcMode
from ecobasin.store import Store
from ecobasin.store import gateway as sql

__all__ = [
    "PROTOCOLS",
    "SITE_DOMAINS",
    "Device",
    "DeviceError",
    "load_devices",
    "register_devices",
    "set_device_enabled",
]

_log = logging.getLogger(__name__)

PROTOCOLS = ("2017", "2005")
#: Parameter domains of each site kind (what a factor code means there).
SITE_DOMAINS: dict[str, tuple[str, ...]] = {
    "air_station": ("air", "met"),
    "micro_station": ("air", "met"),
    "gas_outlet": ("flue_gas",),
    "water_section": ("water",),
    "water_outlet": ("water",),
    "noise_station": ("noise", "met"),  # 声环境自动站 (HJ 906-2017)
}


class DeviceError(ValueError):
    """A device registration is not acceptable (unknown site, protocol, CRC mode)."""


@dataclass(frozen=True, slots=True)
class Device:
    """One registered device.

    Attributes
    ----------
    mn : str
        Device id (MN, HJ 212-2017 表3).
    password : str
        Access password (PW, 表3).
    site_id : str
        The site it reports for.
    protocol : str
        ``2017`` (HJ 212-2017) or ``2005`` (HJ/T 212-2005).
    crc_mode : CrcMode
        The CRC it sends (Appendix A unless configured otherwise).
    enabled : bool
        False: its frames are refused.
    interval_s : int or None
        Expected reporting interval [s] (for the "gone silent" alarm).
    domains : tuple of str
        Parameter domains of its site's kind.
    period_end : bool
        True when its site's attribute ``hj212_datatime`` is ``period_end``: the device labels
        a 2051/2061/2031 period by its end, not by its start as HJ 212-2017 表C does (noise
        brief §4.1); the writer stores both at the period's end.
    """

    mn: str
    password: str
    site_id: str
    protocol: str = "2017"
    crc_mode: CrcMode = CrcMode.HJ212
    enabled: bool = True
    interval_s: int | None = None
    domains: tuple[str, ...] = ("air", "met")
    period_end: bool = False


def register_devices(store: Store, devices_frame: pd.DataFrame) -> tuple[int, int]:
    """Add or update devices.

    Parameters
    ----------
    store : Store
        The store (its sites must already hold each device's site).
    devices_frame : pandas.DataFrame
        Columns ``mn``, ``password``, ``site_id``; optional ``protocol`` (``2017``),
        ``crc_mode`` (``hj212``), ``enabled`` (True), ``interval_s`` (None), ``added_at``.

    Returns
    -------
    (int, int)
        Devices added, devices updated.

    Raises
    ------
    DeviceError
        Naming the device: unknown site, protocol or CRC mode, empty MN or password, or an
        MN with characters HJ 212 does not allow (``;``, ``=``, ``&``, spaces).
    """
    frame = devices_frame.copy()
    defaults: dict[str, Any] = {
        "protocol": "2017",
        "crc_mode": "hj212",
        "enabled": True,
        "interval_s": None,
        "added_at": datetime.now(UTC),
    }
    for column, default in defaults.items():
        if column not in frame:
            frame[column] = default
    frame["protocol"] = frame["protocol"].astype(str)
    frame["interval_s"] = frame["interval_s"].astype("Int64")
    sites = set(store.sites(site_ids=list(frame["site_id"]))["site_id"])
    modes = {mode.value for mode in CrcMode}
    for row in frame.to_dict("records"):
        mn = str(row["mn"])
        if not mn or any(c in mn for c in ";=& ") or not mn.isprintable():
            raise DeviceError(f"device MN {mn!r}: 1+ printable characters without ; = & or space")
        if not str(row["password"]):
            raise DeviceError(f"device {mn}: the password (PW) is empty")
        if row["site_id"] not in sites:
            raise DeviceError(
                f"device {mn}: site {row['site_id']!r} is not registered (ecobasin sites import)"
            )
        if row["protocol"] not in PROTOCOLS:
            raise DeviceError(f"device {mn}: protocol {row['protocol']!r} is not 2017 or 2005")
        if row["crc_mode"] not in modes:
            raise DeviceError(f"device {mn}: CRC mode {row['crc_mode']!r} is not one of {modes}")
    with store.transaction():
        return sql.upsert_devices(store, frame)


def set_device_enabled(store: Store, mn: str, enabled: bool) -> None:
    """Enable or disable a device.

    Raises
    ------
    DeviceError
        When no device has that MN.
    """
    if not sql.set_device_enabled(store, mn, enabled):
        raise DeviceError(f"no device with MN {mn!r} is registered")


def load_devices(store: Store) -> dict[str, Device]:
    """The registry as a dict by MN (the gateway's in-memory copy)."""
    frame = sql.devices(store)
    out: dict[str, Device] = {}
    for row in frame.to_dict("records"):
        interval = None if pd.isna(row["interval_s"]) else int(row["interval_s"])
        kind = None if pd.isna(row["site_kind"]) else str(row["site_kind"])
        out[str(row["mn"])] = Device(
            mn=str(row["mn"]),
            password=str(row["password"]),
            site_id=str(row["site_id"]),
            protocol=str(row["protocol"]),
            crc_mode=CrcMode(str(row["crc_mode"])),
            enabled=bool(row["enabled"]),
            interval_s=interval,
            domains=SITE_DOMAINS.get(kind or "", ("air", "met")),
            period_end=_period_end(row),
        )
    return out


#: Site attribute ``hj212_datatime``: what a device's DataTime of a period labels.
DATATIME_CONVENTIONS = ("period_start", "period_end")


def _period_end(row: Mapping[Any, Any]) -> bool:
    """Whether a device's site says its DataTime labels the period's end; an unknown value is
    logged and HJ 212's period start kept (a typo must not stop the gateway)."""
    value = row.get("site_datatime")
    if value is None or pd.isna(value) or value == "period_start":
        return False
    if value == "period_end":
        return True
    _log.warning(
        "site %s: hj212_datatime %r is not one of %s; HJ 212's period start is used",
        row["site_id"], value, ", ".join(DATATIME_CONVENTIONS),
    )  # fmt: skip
    return False
