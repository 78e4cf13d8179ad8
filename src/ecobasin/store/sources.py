"""SQL of the source-analysis page (issue 19): which pollutants a station holds hourly, and over
which span of time, so the page can offer a pollutant and a default period; and the station's
HYSPLIT back-trajectories (tdump files offered, lines kept aside, endpoints) for PSCF and CWT;
and the stored PMF runs (B7) of a site."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from ecobasin.store import _sql
from ecobasin.store.database import Store

__all__ = [
    "PMF_JSON",
    "PMF_SUMMARY",
    "pmf_run",
    "pmf_runs",
    "station_parameter_spans",
    "store_pmf_run",
    "store_trajectory_file",
    "trajectory_bad_lines",
    "trajectory_endpoints",
    "trajectory_file_known",
    "trajectory_files",
]


def station_parameter_spans(where: _sql.Connection, site_id: str) -> pd.DataFrame:
    """parameter, first, last (UTC instants) of the station's hourly observations."""
    return _sql.frame(
        where,
        "SELECT parameter, min(time) AS first, max(time) AS last FROM observations "
        "WHERE site_id = ? AND period = '1h' GROUP BY parameter ORDER BY parameter",
        [site_id],
    )


_FILE_KEYS = ("sha256", "name", "size", "status", "reason", "endpoints", "bad_lines",
              "imported_by", "imported_at")  # fmt: skip


def trajectory_file_known(where: _sql.Connection, site_id: str, sha256: str) -> bool:
    """Whether this file (by content) was already offered for the station."""
    found = _sql.rows(
        where, "SELECT 1 FROM trajectory_files WHERE site_id = ? AND sha256 = ?", [site_id, sha256]
    )
    return bool(found)


def store_trajectory_file(
    store: Store,
    record: dict[str, Any],
    endpoints: pd.DataFrame,
    bad_lines: list[tuple[int, str]],
) -> int:
    """Store one offered tdump file (``record``: the columns of ``trajectory_files``), its bad
    lines and its endpoints in one transaction; returns the endpoints new to the station."""
    con = store.con
    with store.transaction():
        before = _endpoint_count(con, record["site_id"])
        con.execute(
            "INSERT INTO trajectory_files (sha256, site_id, name, size, status, reason, "
            "endpoints, bad_lines, imported_by, imported_at, content) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record[k]
                for k in (
                    "sha256",
                    "site_id",
                    "name",
                    "size",
                    "status",
                    "reason",
                    "endpoints",
                    "bad_lines",
                    "imported_by",
                    "imported_at",
                    "content",
                )
            ],
        )
        if bad_lines:
            con.executemany(
                "INSERT INTO trajectory_bad_lines VALUES (?, ?, ?, ?)",
                [(record["sha256"], record["site_id"], n, why) for n, why in bad_lines],
            )
        if not endpoints.empty:
            rows = endpoints.assign(site_id=record["site_id"], sha256=record["sha256"])[
                ["site_id", "arrival", "start_height_m", "age_h", "lat", "lon", "height_m",
                 "sha256"]
            ]  # fmt: skip
            con.register("new_endpoints", rows)
            con.execute("INSERT OR IGNORE INTO trajectory_endpoints SELECT * FROM new_endpoints")
            con.unregister("new_endpoints")
        added = _endpoint_count(con, record["site_id"]) - before
    return added


def _endpoint_count(where: _sql.Connection, site_id: str) -> int:
    found = _sql.rows(
        where, "SELECT count(*) FROM trajectory_endpoints WHERE site_id = ?", [site_id]
    )
    return int(found[0][0])


def trajectory_files(where: _sql.Connection, site_id: str) -> list[dict[str, Any]]:
    """The files offered for a station, newest first, without their bytes."""
    found = _sql.rows(
        where,
        f"SELECT {', '.join(_FILE_KEYS)} FROM trajectory_files WHERE site_id = ? "
        "ORDER BY imported_at DESC, name",
        [site_id],
    )
    return [dict(zip(_FILE_KEYS, row, strict=True)) for row in found]


def trajectory_bad_lines(
    where: _sql.Connection, site_id: str, sha256: str, limit: int = 50
) -> list[tuple[int, str]]:
    """The first ``limit`` lines kept aside from one file: (line number, reason)."""
    found = _sql.rows(
        where,
        "SELECT line, reason FROM trajectory_bad_lines WHERE site_id = ? AND sha256 = ? "
        "ORDER BY line LIMIT ?",
        [site_id, sha256, limit],
    )
    return [(int(n), str(why)) for n, why in found]


def trajectory_endpoints(
    where: _sql.Connection, site_id: str, first: datetime, last: datetime
) -> pd.DataFrame:
    """arrival, start_height_m, age_h, lat, lon, height_m of the station's trajectories that
    arrive from ``first`` to ``last`` (UTC, inclusive)."""
    return _sql.frame(
        where,
        "SELECT arrival, start_height_m, age_h, lat, lon, height_m FROM trajectory_endpoints "
        "WHERE site_id = ? AND arrival BETWEEN ? AND ? "
        "ORDER BY arrival, start_height_m, age_h DESC",
        [site_id, first, last],
    )


#: the columns of ``pmf_runs`` a list shows, and those stored as JSON
PMF_SUMMARY = ("run_id", "site_id", "first_sample", "last_sample", "samples", "factors",
               "models", "seed", "q_true", "q_robust", "q_expected", "esat_version",
               "created_by", "created_at")  # fmt: skip
PMF_JSON = ("species", "models_q_true", "profiles", "contributions", "bootstrap")


def store_pmf_run(store: Store, record: dict[str, Any]) -> None:
    """Insert one PMF run (``record``: the columns of ``pmf_runs``; the JSON ones as Python)."""
    columns = PMF_SUMMARY + PMF_JSON
    values = [json.dumps(record[c]) if c in PMF_JSON else record[c] for c in columns]
    with store.transaction():
        store.con.execute(
            f"INSERT INTO pmf_runs ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            values,
        )


def pmf_runs(where: _sql.Connection, site_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The site's PMF runs, newest first, without their matrices."""
    found = _sql.rows(
        where,
        f"SELECT {', '.join(PMF_SUMMARY)} FROM pmf_runs WHERE site_id = ? "
        "ORDER BY created_at DESC, run_id LIMIT ?",
        [site_id, limit],
    )
    return [dict(zip(PMF_SUMMARY, row, strict=True)) for row in found]


def pmf_run(where: _sql.Connection, site_id: str, run_id: str) -> dict[str, Any] | None:
    """One PMF run of the site with its matrices and bootstrap, or None."""
    columns = PMF_SUMMARY + PMF_JSON
    found = _sql.rows(
        where,
        f"SELECT {', '.join(columns)} FROM pmf_runs WHERE site_id = ? AND run_id = ?",
        [site_id, run_id],
    )
    if not found:
        return None
    run = dict(zip(columns, found[0], strict=True))
    for column in PMF_JSON:
        run[column] = json.loads(run[column]) if run[column] is not None else None
    return run
