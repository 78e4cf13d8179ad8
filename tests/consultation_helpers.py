"""A concluded eight-city consultation built through the service on a real DuckDB file.

Chengdu's consensus stays above AQI 150 for days 1–3 (heavy pollution on the way: orange by
648号), the others are good to lightly polluted; Deyang is late and diverges from the model.

Building the session saves it ~120 times through the service (~2.1–2.5 s of CPU):
:func:`concluded_store_file` builds it once per test process (and per set of people granted a
role first, whose notifications the steps then make) and hands out private copies of the file
(docs/measurements.md, "sixth pass").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from ecobasin import catalog
from ecobasin.services import consultation as service
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import DayForecast, InputSnapshot, ModelRun, Submission
from store_files import new_synced_store_file, private_copy, template_folder

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=CST)
CHENGDU, DEYANG = 510100, 510600
CITIES: tuple[int, ...] = tuple(int(c) for c in catalog.load_region().cities)


def day_range(city: int, day: int) -> tuple[int, int]:
    """The consensus AQI range [AQI] of a city and lead day in these sessions."""
    if city == CHENGDU and day <= 3:
        return 160, 200
    return 60 + day, 90 + day


def fc(city: int, day: int) -> DayForecast:
    low, high = day_range(city, day)
    return DayForecast(city, day, low, high, ("PM2.5",))


def concluded_session(store: Store, other_models: tuple[ModelRun, ...] = ()) -> str:
    """Schedule, collect, reconcile and conclude with Chengdu orange; the session id.
    ``other_models``: frozen beside CDAQS in the snapshot."""
    s = service.schedule_session(
        store, "episode", date(2026, 2, 2), T0 + timedelta(hours=2), "prov", T0
    )
    sid = s.session_id
    guidance = tuple(fc(c, d) for c in CITIES for d in range(1, 8))
    snap = InputSnapshot("CDAQS", "2026.1", T0 - timedelta(hours=8), T0, ("ECMWF 00Z",), guidance,
                         other_models=other_models)  # fmt: skip
    service.act(store, sid, "open_submissions", "chair", T0, snapshot=snap)
    for c in CITIES:
        at = T0 + timedelta(hours=2, minutes=30) if c == DEYANG else T0
        for d in range(1, 8):
            f = DayForecast(c, d, 130, 160, ("PM2.5",)) if (c, d) == (DEYANG, 1) else fc(c, d)
            service.act(store, sid, "submit", f"fc{c}", at, submission=Submission(f, f"fc{c}", at))
    service.act(store, sid, "close_submissions", "chair", T0 + timedelta(hours=3))
    s = service.act(store, sid, "start_session", "chair", T0 + timedelta(hours=3))
    for item in s.divergences:
        service.act(store, sid, "resolve", "chair", T0, "德阳工业源排放偏高", key=item.key,
                    resolution="note_dissent")  # fmt: skip
    for c in CITIES:
        for d in range(1, 8):
            service.act(store, sid, "set_consensus", "chair", T0, forecast=fc(c, d))
    service.act(store, sid, "set_warning", "chair", T0, narrative="成都重污染过程，其余良至轻度",
                levels={CHENGDU: "orange"})  # fmt: skip
    service.act(store, sid, "conclude", "chair", T0)
    return sid


#: (user, consultation role, city or None) granted before the session is built
Person = tuple[str, str, int | None]
#: the template files made so far in this process (each a new name)
_made: list[Path] = []


@cache
def _concluded_template(people: tuple[Person, ...]) -> tuple[Path, str]:
    """A store with the region's catalog, ``people``'s roles and :func:`concluded_session`,
    made once per process (and per ``people``) in the private template folder; its session id."""
    path = new_synced_store_file(template_folder() / f"concluded-{len(_made)}.duckdb")
    _made.append(path)
    with Store(path) as store:
        for user, role, city in people:
            store_consultation.grant_role(store, user, role, city, "admin", T0)
        sid = concluded_session(store)
    return path, sid


def concluded_store_file(path: Path, people: tuple[Person, ...] = ()) -> str:
    """Make ``path`` (mode 0600) a copy of a store holding the concluded session of
    :func:`concluded_session` (``people`` granted their roles first); the session's id."""
    template, sid = _concluded_template(people)
    private_copy(template, path)
    return sid
