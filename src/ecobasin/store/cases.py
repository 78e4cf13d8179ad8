"""SQL of rectification cases (issue 18): cases, their append-only transitions, links, roles,
and the content-addressed attachment files.

A case is kept whole, as JSON, one row per case (the pure machine of
:mod:`ecobasin.workflow.cases` is the only thing that changes it); :func:`save` appends the
audit entries the stored row does not hold yet and refuses a case whose trail does not extend
the stored one (no row of the trail is ever updated or deleted). Attachment bytes go to a
private file named by their SHA-256 under ``<db>.attachments/`` (0700 folder, 0600 files).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ecobasin.store._sql import Connection, cursor_of
from ecobasin.store.database import Store
from ecobasin.workflow.cases import Acceptance, Case, Entry, Evidence, Link, Measure, SiteItem

__all__ = [
    "TrailRewriteError",
    "attachment",
    "attachment_dir",
    "case_from_dict",
    "case_to_dict",
    "cases",
    "grant_role",
    "linked",
    "load",
    "missing_attachments",
    "next_number",
    "put_attachment",
    "roles_of",
    "save",
    "transitions",
]


class TrailRewriteError(ValueError):
    """An attempt to change or drop a stored transition of a case."""


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def case_to_dict(case: Case) -> dict[str, Any]:
    """The case as JSON-ready data (days and instants as ISO 8601)."""
    return json.loads(json.dumps(asdict(case), default=_iso))  # type: ignore[no-any-return]


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def case_from_dict(raw: dict[str, Any]) -> Case:
    """The case from :func:`case_to_dict`'s data."""
    data = dict(raw)
    data["registered_at"] = datetime.fromisoformat(raw["registered_at"])
    data["updated_at"] = datetime.fromisoformat(raw["updated_at"])
    for key in ("plan_due", "notice_end", "paused_on", "pending_extension"):
        data[key] = _day(raw[key])
    data["rectify_due"] = tuple(date.fromisoformat(d) for d in raw["rectify_due"])
    data["co_units"] = tuple(raw["co_units"])
    data["jurisdictions"] = tuple(raw["jurisdictions"])
    data["signatures"] = tuple((s, int(c)) for s, c in raw["signatures"])
    data["measures"] = tuple(
        Measure(m["text"], m["owner"], date.fromisoformat(m["due"]), m["deliverable"], m["percent"])
        for m in raw["measures"]
    )
    data["site_items"] = tuple(SiteItem(**i) for i in raw.get("site_items", ()))
    data["feedback_ref"] = raw.get("feedback_ref", "")
    data["evidence"] = tuple(
        Evidence(**{**e, "at": datetime.fromisoformat(e["at"])}) for e in raw["evidence"]
    )
    data["acceptances"] = tuple(
        Acceptance(
            a["opinion"],
            tuple((c, ok, note) for c, ok, note in a["criteria"]),
            a["onsite_record"],
            tuple(a["signatures"]),
            a["team"],
            date.fromisoformat(a["check_date"]),
            a["issued_by"],
            datetime.fromisoformat(a["issued_at"]),
        )
        for a in raw["acceptances"]
    )
    data["links"] = tuple(Link(**link) for link in raw["links"])
    data["audit"] = tuple(
        Entry(**{**e, "at": datetime.fromisoformat(e["at"])}) for e in raw["audit"]
    )
    return Case(**data)


def save(store: Store, case: Case, client: str = "cli") -> None:
    """Write the case and append its new transitions, in one transaction.

    Raises
    ------
    TrailRewriteError
        When the stored trail is not a prefix of ``case.audit`` (a rewrite or a lost update).
    """
    con = store.con
    body = json.dumps(case_to_dict(case), ensure_ascii=False)
    with store.transaction():
        stored = con.execute(
            "SELECT seq, event, acted_at FROM case_transitions WHERE case_id = ? ORDER BY seq",
            [case.case_id],
        ).fetchall()
        for (seq, event, at), entry in zip(stored, case.audit, strict=False):
            if event != entry.event or at != entry.at:
                raise TrailRewriteError(f"case {case.case_id}: transition {seq} would change")
        if len(stored) > len(case.audit):
            raise TrailRewriteError(
                f"case {case.case_id}: {len(stored)} stored transitions, {len(case.audit)} given"
            )
        con.execute("DELETE FROM cases WHERE case_id = ?", [case.case_id])
        con.execute(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                case.case_id, case.kind, case.state, case.city_code, case.category,
                case.lead_unit, case.parent_id, body, case.registered_at, case.updated_at,
            ],
        )  # fmt: skip
        for seq, entry in enumerate(case.audit[len(stored) :], start=len(stored) + 1):
            con.execute(
                "INSERT INTO case_transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    case.case_id, seq, entry.event, entry.from_state, entry.to_state,
                    entry.actor, entry.role, entry.at, entry.reason,
                    json.dumps(entry.changed, ensure_ascii=False, default=_iso), client,
                ],
            )  # fmt: skip
        for link in case.links:
            con.execute(
                "INSERT OR IGNORE INTO case_links VALUES (?, ?, ?, ?)",
                [case.case_id, link.source_kind, link.source_id, link.url],
            )


def load(where: Connection, case_id: str) -> Case:
    """The stored case; :class:`LookupError` when there is none."""
    row = cursor_of(where).execute("SELECT body FROM cases WHERE case_id = ?", [case_id]).fetchone()
    if row is None:
        raise LookupError(f"no case {case_id} 无此案件")
    return case_from_dict(json.loads(row[0]))


def cases(
    where: Connection,
    kind: str | None = None,
    city: int | None = None,
    parent: str | None = None,
) -> list[Case]:
    """Stored cases, newest registration first, filtered by kind, city and joint parent."""
    sql, params = "SELECT body FROM cases WHERE true", []
    for column, value in (("kind", kind), ("city_code", city), ("parent_id", parent)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    rows = cursor_of(where).execute(sql + " ORDER BY registered_at DESC, case_id", params)
    return [case_from_dict(json.loads(r[0])) for r in rows.fetchall()]


def transitions(where: Connection, case_id: str) -> list[dict[str, Any]]:
    """The stored trail of a case, oldest first."""
    cur = cursor_of(where).execute(
        "SELECT seq, event, from_state, to_state, actor, role, acted_at AS at, reason, changed, client "
        "FROM case_transitions WHERE case_id = ? ORDER BY seq",
        [case_id],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def next_number(where: Connection, prefix: str) -> int:
    """The next sequence number of case ids starting with ``prefix``."""
    row = (
        cursor_of(where)
        .execute("SELECT count(*) FROM cases WHERE starts_with(case_id, ?)", [prefix])
        .fetchone()
    )
    return int(row[0] if row else 0) + 1


def linked(where: Connection, source_kind: str, source_id: str) -> list[str]:
    """Cases already linked to a record (so a finding opens one case, not two)."""
    rows = cursor_of(where).execute(
        "SELECT case_id FROM case_links WHERE source_kind = ? AND source_id = ? ORDER BY case_id",
        [source_kind, source_id],
    )
    return [r[0] for r in rows.fetchall()]


def grant_role(
    store: Store, user: str, role: str, city: int | None, unit: str, by: str, at: datetime
) -> None:
    """Give ``user`` a case role (scoped to a city and a unit)."""
    store.con.execute(
        "INSERT INTO case_roles VALUES (?, ?, ?, ?, ?, ?)", [user, role, city, unit, by, at]
    )


def roles_of(where: Connection, user: str | None) -> tuple[tuple[str, int | None, str], ...]:
    """The case roles of ``user``: (role, city, unit)."""
    if user is None:
        return ()
    rows = cursor_of(where).execute(
        "SELECT DISTINCT role, city_code, unit FROM case_roles WHERE user_name = ? ORDER BY 1, 2",
        [user],
    )
    return tuple((r[0], r[1], r[2]) for r in rows.fetchall())


def attachment_dir(store: Store) -> Path:
    """The private folder of attachment files beside the database."""
    folder = store.path.with_name(store.path.name + ".attachments")
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _write_private(path: Path, content: bytes) -> None:
    """Create ``path`` 0600 from the start (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)


def put_attachment(
    store: Store,
    sha256: str,
    content: bytes,
    media_type: str,
    name: str,
    thumbnail: bytes | None,
    at: datetime,
) -> bool:
    """Store the bytes once under their hash; False when they were already there."""
    folder = attachment_dir(store)
    target = folder / sha256
    row = store.con.execute("SELECT 1 FROM case_attachments WHERE sha256 = ?", [sha256]).fetchone()
    if row is not None and target.exists():
        return False
    if not target.exists():
        _write_private(target, content)
    if thumbnail is not None and not (folder / f"{sha256}.thumb.png").exists():
        _write_private(folder / f"{sha256}.thumb.png", thumbnail)
    store.con.execute(
        "INSERT OR REPLACE INTO case_attachments VALUES (?, ?, ?, ?, ?, ?)",
        [sha256, media_type, len(content), thumbnail is not None, name, at],
    )
    return True


def missing_attachments(where: Connection, sha256s: list[str]) -> list[str]:
    """The hashes of ``sha256s`` that name no stored attachment."""
    if not sha256s:
        return []
    rows = (
        cursor_of(where)
        .execute("SELECT sha256 FROM case_attachments WHERE list_contains(?, sha256)", [sha256s])
        .fetchall()
    )
    known = {r[0] for r in rows}
    return [s for s in sha256s if s not in known]


def attachment(store: Store, sha256: str, thumbnail: bool = False) -> tuple[str, bytes]:
    """(media type, bytes) of a stored attachment or its PNG thumbnail; LookupError if none."""
    row = (
        cursor_of(store)
        .execute("SELECT media_type, thumbnail FROM case_attachments WHERE sha256 = ?", [sha256])
        .fetchone()
    )
    if row is None or (thumbnail and not row[1]):
        raise LookupError(f"no attachment {sha256} 无此附件")
    name = f"{sha256}.thumb.png" if thumbnail else sha256
    media = "image/png" if thumbnail else str(row[0])
    return media, (attachment_dir(store) / name).read_bytes()
