"""SQL of the joint forecast consultation (migration 17): session versions, audit, reports.

A session is kept whole, as JSON, one row per version (the state machine of
:mod:`ecobasin.workflow.consultation` is the only thing that changes it); its audit entries are
appended beside it. An issued version is never rewritten: :func:`save` refuses any change to an
issued row other than its end (superseded by an amendment, or archived after verification).
Reports are stored once under the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from ecobasin.store.database import Store
from ecobasin.workflow.consultation import (
    AuditEntry,
    DayForecast,
    Divergence,
    InputSnapshot,
    ModelRun,
    ObservedDay,
    Session,
    Submission,
)
from ecobasin.workflow.consultation_warning import CityAck, WarningProposal

__all__ = [
    "ImmutableSessionError",
    "actions",
    "add_actions",
    "add_notices",
    "city_decisions",
    "close_action",
    "grant_role",
    "handovers",
    "load",
    "load_proposal",
    "mark_mailed",
    "mark_read",
    "notices_of",
    "pending_mail",
    "record_city_decision",
    "record_handover",
    "report",
    "reports_of",
    "role_holders",
    "roles_of",
    "save",
    "save_proposal",
    "session_from_dict",
    "session_to_dict",
    "sessions",
    "set_email",
    "store_report",
    "stored_model_runs",
]

#: States an issued row may still move to (its end), and nothing else.
_ISSUED_ENDS = ("superseded", "archived")


class ImmutableSessionError(ValueError):
    """An attempt to change an issued session version."""


def _forecast(raw: dict[str, Any]) -> DayForecast:
    return DayForecast(
        raw["city"], raw["lead_day"], raw["aqi_low"], raw["aqi_high"], tuple(raw["primary"])
    )


def _key(city_day: str) -> tuple[int, int]:
    city, day = city_day.split(":")
    return int(city), int(day)


def session_to_dict(s: Session) -> dict[str, Any]:
    """The session as JSON-ready data (instants as ISO 8601 with their offset).

    Built in one walk (what ``json.loads(json.dumps(asdict(s)))`` gives, without its deep copy
    and text round trip: every action saves its session, so this is paid per request).
    """
    keyed = {
        "submissions": {f"{c}:{d}": _plain(v) for (c, d), v in s.submissions.items()},
        "consensus": {f"{c}:{d}": _plain(v) for (c, d), v in s.consensus.items()},
        "warning": {str(c): _plain(v) for c, v in s.warning.items()},
    }
    return {
        name: keyed[name] if name in keyed else _plain(getattr(s, name))
        for name in _field_names(Session)
    }


#: Types JSON keeps as they are.
_SCALARS = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _plain(value: Any) -> Any:
    """``value`` as JSON would read it back: dataclasses as dicts, tuples as lists, dates and
    instants as ISO 8601 text, dict keys as text."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(kind):
        return {name: _plain(getattr(value, name)) for name in _field_names(kind)}
    if isinstance(value, dict):
        return {_json_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    return json.loads(json.dumps(value))  # anything else exactly as JSON would have it


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def _json_key(key: Any) -> str:
    if type(key) is str:
        return key
    return str(next(iter(json.loads(json.dumps({key: None})))))


def session_from_dict(raw: dict[str, Any]) -> Session:
    """The session from :func:`session_to_dict`'s data."""
    snap = raw["snapshot"]
    snapshot = None
    if snap is not None:
        snapshot = InputSnapshot(
            snap["model_name"],
            snap["model_version"],
            datetime.fromisoformat(snap["model_issued_at"]),
            datetime.fromisoformat(snap["observation_cutoff"]),
            tuple(snap["met_forecasts"]),
            tuple(_forecast(g) for g in snap["guidance"]),
            tuple(  # snapshots stored before the observations were frozen have none
                ObservedDay(o["city"], date.fromisoformat(o["day"]), o["aqi"], tuple(o["primary"]))
                for o in snap.get("observations", ())
            ),
            tuple(  # snapshots stored before several models were frozen have only the primary
                ModelRun(
                    m["name"],
                    m["version"],
                    datetime.fromisoformat(m["issued_at"]),
                    tuple(_forecast(g) for g in m["guidance"]),
                )
                for m in snap.get("other_models", ())
            ),
        )
    submissions = {
        _key(k): Submission(
            _forecast(v["forecast"]),
            v["author"],
            datetime.fromisoformat(v["submitted_at"]),
            v["confidence"],
            v["rationale"],
            v["late"],
            tuple(v.get("levels", ())),  # versions stored before named levels: none
        )
        for k, v in raw["submissions"].items()
    }
    audit = tuple(
        AuditEntry(
            a["event"],
            a["actor"],
            datetime.fromisoformat(a["at"]),
            a["reason"],
            a["before"],
            a["after"],
        )
        for a in raw["audit"]
    )
    return Session(
        session_id=raw["session_id"],
        kind=raw["kind"],
        session_date=date.fromisoformat(raw["session_date"]),
        chair_city=raw["chair_city"],
        host_city=raw["host_city"],
        participants=tuple(raw["participants"]),
        deadline=datetime.fromisoformat(raw["deadline"]),
        rules_version=raw["rules_version"],
        version=raw["version"],
        supersedes=raw["supersedes"],
        state=raw["state"],
        snapshot=snapshot,
        submissions=submissions,
        missing=tuple(raw["missing"]),
        divergences=tuple(Divergence(**d) for d in raw["divergences"]),
        consensus={_key(k): _forecast(v) for k, v in raw["consensus"].items()},
        narrative=raw["narrative"],
        warning={int(c): (v[0], v[1]) for c, v in raw["warning"].items()},
        regional=tuple(raw.get("regional", ("none", ""))),
        controls=raw.get("controls", ""),  # versions stored before these fields: none
        template_version=raw["template_version"],
        report_hash=raw["report_hash"],
        audit=audit,
    )


def save(store: Store, session: Session, at: datetime) -> None:
    """Write one session version and its new audit entries, in one transaction.

    Raises
    ------
    ImmutableSessionError
        When the stored version is issued and ``session`` is not its end (superseded, archived).
    """
    con = store.con
    with store.transaction():
        row = con.execute(
            "SELECT state FROM consultation_sessions WHERE session_id = ? AND version = ?",
            [session.session_id, session.version],
        ).fetchone()
        raw = session_to_dict(session)
        if row and row[0] in ("issued", *_ISSUED_ENDS):
            _refuse_edit(store, session, raw, str(row[0]))
        body = json.dumps(raw, ensure_ascii=False)
        values = [session.state, session.kind, session.session_date, session.chair_city, body, at]
        # the row read above is updated in place: an INSERT OR REPLACE costs DuckDB a conflict
        # check and a delete on every step (~3 ms of CPU per save)
        if row:
            con.execute(
                "UPDATE consultation_sessions SET state = ?, kind = ?, session_date = ?, "
                "chair_city = ?, body = ?, updated_at = ? WHERE session_id = ? AND version = ?",
                [*values, session.session_id, session.version],
            )
        else:
            con.execute(
                "INSERT INTO consultation_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [session.session_id, session.version, *values],
            )
        stored = con.execute(
            "SELECT count(*) FROM consultation_audit WHERE session_id = ? AND version = ?",
            [session.session_id, session.version],
        ).fetchone()
        for seq, a in enumerate(
            session.audit[stored[0] if stored else 0 :], start=stored[0] if stored else 0
        ):
            con.execute(
                "INSERT INTO consultation_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    session.session_id,
                    session.version,
                    seq,
                    a.event,
                    a.actor,
                    a.at,
                    a.reason,
                    a.before,
                    a.after,
                ],
            )


def _refuse_edit(store: Store, session: Session, raw: dict[str, Any], stored_state: str) -> None:
    """An issued version may only end (superseded, archived), with its content unchanged."""
    body = store.con.execute(
        "SELECT body FROM consultation_sessions WHERE session_id = ? AND version = ?",
        [session.session_id, session.version],
    ).fetchone()
    # read through the current model: fields added since it was stored (their defaults) are
    # not an edit of an issued version
    before = session_to_dict(session_from_dict(json.loads(body[0]))) if body else {}
    content = [k for k in raw if k not in ("state", "audit")]
    unchanged = all(before.get(k) == raw[k] for k in content)
    if session.state not in _ISSUED_ENDS or stored_state != "issued" or not unchanged:
        raise ImmutableSessionError(
            f"session {session.session_id} v{session.version} is {stored_state}: "
            "amend it instead (已签发，只能修订)"
        )


def load(store: Store, session_id: str, version: int | None = None) -> Session:
    """One version of a session (the latest when ``version`` is None).

    Raises
    ------
    LookupError
        When the store has no such session or version.
    """
    sql = "SELECT body FROM consultation_sessions WHERE session_id = ?"
    params: list[Any] = [session_id]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    row = store.con.execute(sql + " ORDER BY version DESC LIMIT 1", params).fetchone()
    if row is None:
        which = "" if version is None else f" v{version}"
        raise LookupError(f"no consultation session {session_id}{which} (无此会商)")
    return session_from_dict(json.loads(row[0]))


def sessions(store: Store) -> list[dict[str, Any]]:
    """The latest version of every session: id, version, state, kind, date, chair city."""
    rows = store.con.execute(
        "SELECT session_id, max(version) AS version, arg_max(state, version), "
        "arg_max(kind, version), arg_max(session_date, version), arg_max(chair_city, version) "
        "FROM consultation_sessions GROUP BY session_id ORDER BY 5 DESC, 1"
    ).fetchall()
    keys = ("session_id", "version", "state", "kind", "session_date", "chair_city")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def record_handover(
    store: Store, day: date, city: int, reason: str, actor: str, at: datetime
) -> None:
    """Record that ``city`` chairs from ``day`` to the end of its month (reason required)."""
    if not reason.strip():
        raise ValueError(f"hand-over on {day}: a reason is required (须填写交接理由)")
    store.con.execute(
        "INSERT OR REPLACE INTO consultation_handovers VALUES (?, ?, ?, ?, ?)",
        [day, city, reason, actor, at],
    )


def handovers(store: Store, year: int) -> dict[date, int]:
    """The recorded hand-overs of ``year``: first day → chair city."""
    rows = store.con.execute(
        "SELECT day, city_code FROM consultation_handovers WHERE year(day) = ?", [year]
    ).fetchall()
    return {day: city for day, city in rows}


def store_report(
    store: Store,
    session: Session,
    template: str,
    lang: str,
    media_type: str,
    content: bytes,
    at: datetime,
) -> str:
    """Store a rendered report once; returns the SHA-256 [hex] it is addressed by."""
    digest = hashlib.sha256(content).hexdigest()
    store.con.execute(
        "INSERT OR IGNORE INTO consultation_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [digest, session.session_id, session.version, template, lang, media_type, content, at],
    )
    return digest


def report(store: Store, sha256: str) -> tuple[str, bytes]:
    """A stored report's media type and bytes (exactly as first stored)."""
    row = store.con.execute(
        "SELECT media_type, content FROM consultation_reports WHERE sha256 = ?", [sha256]
    ).fetchone()
    if row is None:
        raise LookupError(f"no consultation report {sha256} (无此报告)")
    return str(row[0]), bytes(row[1])


def reports_of(store: Store, session_id: str) -> list[dict[str, Any]]:
    """The reports stored for a session, oldest first (their bytes are fetched by hash)."""
    rows = store.con.execute(
        "SELECT sha256, version, template, lang, media_type, octet_length(content), created_at "
        "FROM consultation_reports WHERE session_id = ? ORDER BY created_at, version, template, lang, "
        "media_type",
        [session_id],
    ).fetchall()
    keys = ("sha256", "version", "template", "lang", "media_type", "size", "stored_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def grant_role(store: Store, user: str, role: str, city: int | None, by: str, at: datetime) -> None:
    """Give ``user`` a consultation role (of ``city``; None for the province or an institute)."""
    store.con.execute(
        "INSERT OR REPLACE INTO consultation_roles VALUES (?, ?, ?, ?, ?)",
        [user, role, city or 0, by, at],
    )


def roles_of(store: Store, user: str | None) -> tuple[tuple[str, int | None], ...]:
    """A user's consultation roles as (role, city or None)."""
    if user is None:
        return ()
    rows = store.con.execute(
        "SELECT role, city_code FROM consultation_roles WHERE user_name = ? ORDER BY 1, 2", [user]
    ).fetchall()
    return tuple((str(role), int(city) or None) for role, city in rows)


def record_city_decision(store: Store, session: Session, row: dict[str, Any]) -> None:
    """Append a city's warning decision (checked by the caller against the recommendation)."""
    store.con.execute(
        "INSERT INTO consultation_city_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [session.session_id, session.version, row["city"], row["recommended"], row["recommended_start"],
         row["level"], row["start"], row["override_reason"], row["actor"], row["at"]],
    )  # fmt: skip


def city_decisions(store: Store, session_id: str) -> list[dict[str, Any]]:
    """The cities' warning decisions on a session, oldest first."""
    rows = store.con.execute(
        "SELECT version, city_code, recommended, recommended_start, level, start_at, override_reason, actor, "
        "decided_at FROM consultation_city_decisions WHERE session_id = ? ORDER BY decided_at",
        [session_id],
    ).fetchall()
    keys = ("version", "city", "recommended", "recommended_start", "level", "start", "override_reason",
            "actor", "at")  # fmt: skip
    return [dict(zip(keys, row, strict=True)) for row in rows]


_ACTION_KEYS = ("action_id", "session_id", "item_no", "text", "owner_city", "due", "state",
                "created_by", "created_at", "closed_by", "closed_at", "close_note")  # fmt: skip


def add_actions(
    store: Store, session_id: str, items: list[tuple[str, int, date]], by: str, at: datetime
) -> list[str]:
    """Store the minutes' decisions (text, owner city, due day) as open action items; their ids
    continue the session's numbering."""
    with store.transaction():
        row = store.con.execute(
            "SELECT coalesce(max(item_no), 0) FROM consultation_actions WHERE session_id = ?",
            [session_id],
        ).fetchone()
        first = int(row[0]) + 1 if row else 1
        ids = []
        for n, (text, owner, due) in enumerate(items, start=first):
            ids.append(f"{session_id}#{n}")
            store.con.execute(
                "INSERT INTO consultation_actions VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, NULL, NULL, NULL)",
                [ids[-1], session_id, n, text, owner, due, by, at],
            )
    return ids


def actions(
    store: Store, session_id: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Action items, by due day then id (of one session and/or one state when given)."""
    sql = f"SELECT {', '.join(_ACTION_KEYS)} FROM consultation_actions WHERE 1 = 1"
    params: list[Any] = []
    if session_id is not None:
        sql += " AND session_id = ?"
        params.append(session_id)
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    rows = store.con.execute(sql + " ORDER BY due, session_id, item_no", params).fetchall()
    return [dict(zip(_ACTION_KEYS, row, strict=True)) for row in rows]


def close_action(store: Store, action_id: str, note: str, by: str, at: datetime) -> dict[str, Any]:
    """Close an open action item with a note.

    Raises
    ------
    LookupError
        No such item.
    ValueError
        The item is already closed, or the note is empty.
    """
    found = [a for a in actions(store) if a["action_id"] == action_id]
    if not found:
        raise LookupError(f"no action item {action_id} (无此议定事项)")
    if found[0]["state"] != "open":
        raise ValueError(f"action item {action_id}: already closed (已办结)")
    if not note.strip():
        raise ValueError(f"action item {action_id}: a closing note is required (须填写办结说明)")
    store.con.execute(
        "UPDATE consultation_actions SET state = 'closed', closed_by = ?, closed_at = ?, "
        "close_note = ? WHERE action_id = ? AND state = 'open'",
        [by, at, note.strip(), action_id],
    )
    return {
        **found[0],
        "state": "closed",
        "closed_by": by,
        "closed_at": at,
        "close_note": note.strip(),
    }


def _proposal_to_json(p: WarningProposal) -> str:
    raw = asdict(p)
    raw["levels"] = {str(c): v for c, v in p.levels.items()}
    raw["starts"] = {str(c): v.isoformat() for c, v in p.starts.items()}
    raw["acks"] = {str(c): asdict(a) for c, a in p.acks.items()}
    return json.dumps(raw, default=_iso, ensure_ascii=False)


def _proposal_from_json(body: str) -> WarningProposal:
    raw = json.loads(body)
    acks = {
        int(c): CityAck(a["level"], datetime.fromisoformat(a["start"]), a["override_reason"],
                        a["actor"], datetime.fromisoformat(a["at"]))
        for c, a in raw["acks"].items()
    }  # fmt: skip
    audit = tuple(
        AuditEntry(a["event"], a["actor"], datetime.fromisoformat(a["at"]), a["reason"],
                   a["before"], a["after"])
        for a in raw["audit"]
    )  # fmt: skip
    return WarningProposal(
        session_id=raw["session_id"],
        state=raw["state"],
        levels={int(c): v for c, v in raw["levels"].items()},
        starts={int(c): datetime.fromisoformat(v) for c, v in raw["starts"].items()},
        version=raw["version"],
        episode=raw["episode"],
        acks=acks,
        audit=audit,
    )


def save_proposal(store: Store, proposal: WarningProposal, at: datetime) -> None:
    """Append the proposal after one step (never rewrites an earlier step)."""
    last = proposal.audit[-1]
    store.con.execute(
        "INSERT INTO consultation_warning_steps SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ? "
        "FROM consultation_warning_steps WHERE session_id = ?",
        [proposal.session_id, last.event, proposal.state, _proposal_to_json(proposal), last.actor,
         at, proposal.session_id],
    )  # fmt: skip


def load_proposal(store: Store, session_id: str) -> WarningProposal | None:
    """The proposal in force (the latest step), or None before the first step."""
    row = store.con.execute(
        "SELECT body FROM consultation_warning_steps WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
        [session_id],
    ).fetchone()
    return _proposal_from_json(row[0]) if row else None


def role_holders(store: Store) -> list[tuple[str, str, int | None]]:
    """Every consultation role: (user, role, city or None)."""
    rows = store.con.execute("SELECT user_name, role, city_code FROM consultation_roles").fetchall()
    return [(str(u), str(r), int(c) or None) for u, r, c in rows]


def add_notices(
    store: Store,
    users: list[str],
    session_id: str,
    kind: str,
    titles: tuple[str, str],
    at: datetime,
) -> int:
    """One in-app notification per user; how many were added."""
    for user in users:
        store.con.execute(
            "INSERT INTO consultation_notifications (user_name, session_id, kind, title_zh, "
            "title_en, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [user, session_id, kind, titles[0], titles[1], at],
        )
    return len(users)


_NOTICE_KEYS = ("notice_id", "session_id", "kind", "title_zh", "title_en", "created_at", "read_at",
                "mailed_at")  # fmt: skip


def notices_of(store: Store, user: str, unread_only: bool = False) -> list[dict[str, Any]]:
    """A user's notifications, newest first."""
    sql = f"SELECT {', '.join(_NOTICE_KEYS)} FROM consultation_notifications WHERE user_name = ?"
    if unread_only:
        sql += " AND read_at IS NULL"
    rows = store.con.execute(sql + " ORDER BY notice_id DESC LIMIT 500", [user]).fetchall()
    return [dict(zip(_NOTICE_KEYS, row, strict=True)) for row in rows]


def mark_read(store: Store, user: str, notice_id: int, at: datetime) -> bool:
    """Mark one of the user's own notifications read; False when it is not theirs or unknown."""
    row = store.con.execute(
        "UPDATE consultation_notifications SET read_at = coalesce(read_at, ?) "
        "WHERE notice_id = ? AND user_name = ? RETURNING notice_id",
        [at, notice_id, user],
    ).fetchone()
    return row is not None


def set_email(store: Store, user: str, email: str) -> None:
    """The address a user's notifications are mailed to."""
    store.con.execute("INSERT OR REPLACE INTO consultation_contacts VALUES (?, ?)", [user, email])


def pending_mail(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Notifications not mailed yet whose user has an address, oldest first."""
    rows = store.con.execute(
        "SELECT n.notice_id, c.email, n.session_id, n.kind, n.title_zh, n.title_en "
        "FROM consultation_notifications n JOIN consultation_contacts c USING (user_name) "
        "WHERE n.mailed_at IS NULL ORDER BY n.notice_id LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("notice_id", "email", "session_id", "kind", "title_zh", "title_en")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def mark_mailed(store: Store, notice_id: int, at: datetime | None, error: str = "") -> None:
    """Record a delivery (``at``) or its failure (``error``, left pending)."""
    store.con.execute(
        "UPDATE consultation_notifications SET mailed_at = ?, mail_error = ? WHERE notice_id = ?",
        [at, error or None, notice_id],
    )


def adjusted_aqi(
    store: Store, city: int, issued_by: date, first: date, last: date
) -> dict[date, tuple[float, float, str]]:
    """A city's own adjusted AQI ranges (its forecasters' adjustments of the model forecast on
    the forecast pages), per target day from ``first`` to ``last``: of the latest issue day on
    or before ``issued_by``. Values: (lower, upper [AQI], primary pollutants "PM2.5,O3")."""
    rows = store.con.execute(
        "SELECT target_day, adjusted_lower, adjusted_upper, coalesce(adjusted_primary, '') "
        "FROM forecasts WHERE scope = 'city' AND scope_id = ? AND parameter = 'AQI' "
        "AND adjusted_by IS NOT NULL AND adjusted_lower IS NOT NULL AND adjusted_upper IS NOT NULL "
        "AND issue_day <= ? AND target_day BETWEEN ? AND ? "
        "QUALIFY row_number() OVER (PARTITION BY target_day ORDER BY issue_day DESC, "
        "adjusted_at DESC) = 1",
        [str(city), issued_by, first, last],
    ).fetchall()
    return {row[0]: (float(row[1]), float(row[2]), str(row[3])) for row in rows}


def stored_model_runs(
    store: Store, cities: Sequence[int], issue_day: date, lead_days: int, cutoff: datetime
) -> list[ModelRun]:
    """ecobasin's own city AQI forecasts of ``issue_day`` issued by ``cutoff`` (the LightGBM /
    blend run, persistence, climatology …), one :class:`ModelRun` per model: its AQI range
    [AQI] (the model quantiles; the central AQI where it has none) per city × lead day 1…
    ``lead_days``. Version: who ran it (the forecasts table has no version column)."""
    rows = store.con.execute(
        "SELECT model, max(issued_at) OVER (PARTITION BY model), "
        "coalesce(min(author) OVER (PARTITION BY model), ''), scope_id, lead, "
        "coalesce(lower, value), coalesce(upper, value), coalesce(primary_pollutant, '') "
        "FROM forecasts WHERE scope = 'city' AND parameter = 'AQI' AND issue_day = ? "
        "AND lead BETWEEN 1 AND ? AND issued_at <= ? AND value IS NOT NULL "
        "AND list_contains(?, scope_id) ORDER BY model, scope_id, lead",
        [issue_day, lead_days, cutoff, [str(c) for c in cities]],
    ).fetchall()
    runs: dict[str, tuple[datetime, str, list[DayForecast]]] = {}
    for model, issued_at, author, city, lead, low, high, primary in rows:
        guidance = runs.setdefault(model, (issued_at, author, []))[2]
        pollutants = tuple("O3" if p.startswith("O3") else p for p in primary.split(",") if p)
        low_aqi, high_aqi = round(low), round(high)
        guidance.append(
            DayForecast(
                int(city), int(lead), min(low_aqi, high_aqi), max(low_aqi, high_aqi), pollutants
            )
        )
    return [ModelRun(m, a, t, tuple(g)) for m, (t, a, g) in runs.items()]
