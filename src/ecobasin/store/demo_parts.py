"""Which parts of the generated demo a database holds, so a re-run of ``ecobasin demo`` keeps
them (an editor's invalidations stay) and builds only what is missing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecobasin.store._sql import Connection, cursor_of, rows
from ecobasin.store.air import INVALID_FLAGS

__all__ = ["air_import_state", "air_state", "built_parts", "mark_built"]


def built_parts(where: Connection) -> dict[str, tuple[int, int]]:
    """The complete demo parts: part → (year, seed)."""
    found = rows(where, "SELECT part, year, seed FROM demo_parts ORDER BY part")
    return {str(part): (int(year), int(seed)) for part, year, seed in found}


def mark_built(where: Connection, part: str, year: int, seed: int) -> None:
    """Record that ``part`` of the demo is complete."""
    cursor_of(where).execute(
        "INSERT OR REPLACE INTO demo_parts VALUES (?, ?, ?, ?)",
        [part, year, seed, datetime.now(UTC)],
    )


def air_state(where: Connection, year: int) -> dict[str, Any]:
    """What the demo's air stations hold in ``year`` (China Standard Time months): the months
    with values, the values, and those an editor or the QC flagged invalid."""
    found = rows(
        where,
        "SELECT count(DISTINCT month(o.time AT TIME ZONE 'Asia/Shanghai')), count(*), "
        "count(*) FILTER (WHERE o.flag = ANY(?)) "
        "FROM observation_values o JOIN sites s USING (site_key) "
        "WHERE s.source = 'demo generator' "
        "AND year(o.time AT TIME ZONE 'Asia/Shanghai') = ?",
        [list(INVALID_FLAGS), year],
    )
    months, values, invalid = found[0] if found else (0, 0, 0)
    return {"months": int(months), "values": int(values), "invalid": int(invalid)}


def air_import_state(where: Connection) -> dict[str, Any]:
    """What a ``demo --from DIR`` database holds: every stored value and those flagged invalid."""
    found = rows(
        where,
        "SELECT count(*), count(*) FILTER (WHERE flag = ANY(?)) FROM observation_values",
        [list(INVALID_FLAGS)],
    )
    values, invalid = found[0] if found else (0, 0)
    return {"values": int(values), "invalid": int(invalid)}
