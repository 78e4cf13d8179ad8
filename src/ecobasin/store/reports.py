"""SQL of the published reports (bulletins, low-carbon reports, scorecards): immutable files.

A report is stored once under the SHA-256 of its bytes and never changed: issuing the same
report again with the same data stores nothing new (``INSERT OR IGNORE``), issuing it after the
data changed adds a new file beside the old one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ecobasin.store._sql import Connection, rows
from ecobasin.store.database import Store

__all__ = [
    "last_report_run",
    "record_report_run",
    "report_file",
    "report_files",
    "store_report_file",
]

_KEYS = ("sha256", "kind", "scope", "period", "lang", "media_type", "size", "created_at")


def store_report_file(
    store: Store,
    kind: str,
    scope: str,
    period: str,
    lang: str,
    media_type: str,
    content: bytes,
    at: datetime,
) -> str:
    """Store a rendered report once; returns the SHA-256 [hex] it is addressed by."""
    digest = hashlib.sha256(content).hexdigest()
    store.con.execute(
        "INSERT OR IGNORE INTO report_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [digest, kind, scope, period, lang, media_type, content, at],
    )
    return digest


def report_files(
    where: Connection, kind: str | None = None, scope: str | None = None
) -> list[dict[str, Any]]:
    """The stored reports, newest first, without their bytes (fetched by hash)."""
    sql = (
        "SELECT sha256, kind, scope, period, lang, media_type, octet_length(content), created_at "
        "FROM report_files WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR scope = ?) "
        "ORDER BY created_at DESC, kind, scope, period, lang, media_type"
    )
    found = rows(where, sql, [kind, kind, scope, scope])
    return [dict(zip(_KEYS, row, strict=True)) for row in found]


def report_file(where: Connection, sha256: str) -> tuple[dict[str, Any], bytes] | None:
    """A stored report's facts and bytes (exactly as first stored); None when unknown."""
    found = rows(
        where,
        "SELECT sha256, kind, scope, period, lang, media_type, octet_length(content), "
        "created_at, content FROM report_files WHERE sha256 = ?",
        [sha256],
    )
    if not found:
        return None
    row = found[0]
    return dict(zip(_KEYS, row[:-1], strict=True)), bytes(row[-1])


def last_report_run(where: Connection, kind: str, scope: str, period: str) -> str | None:
    """The data hash of the last scheduled writing of a report, None when never written."""
    found = rows(
        where,
        "SELECT data_sha256 FROM report_runs WHERE kind = ? AND scope = ? AND period = ? "
        "ORDER BY written_at DESC LIMIT 1",
        [kind, scope, period],
    )
    return str(found[0][0]) if found else None


def record_report_run(
    store: Store,
    key: tuple[str, str, str],
    data_sha256: str,
    files: list[dict[str, Any]],
    mail: tuple[int, str | None],
    at: datetime,
) -> None:
    """Record that report ``key`` (kind, scope, period) was written from ``data_sha256``."""
    import json

    store.con.execute(
        "INSERT OR REPLACE INTO report_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [*key, data_sha256, json.dumps(files), mail[0], mail[1], at],
    )
