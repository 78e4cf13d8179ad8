"""Demo river network, emergency materials and one drill of a spill on the Tuojiang (issue 22).

The network (``demo/data/river_nodes.csv``, ``river_reaches.csv``) is illustrative: approximate
points and plausible, not gauged, hydraulics. The drill: 2 t of benzene into the Tuojiang at
section T03 in Chengdu, determined at 09:40 CST on 10 November; Ziyang acknowledges in time,
Neijiang late (escalated); the plan is approved by the cities on it; two automatic stations
(T04, T05) see a plume generated from the model with other hydraulics and 5 % noise; the
forecast is refitted. Illustrative data, not a real event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.rivers.network import Release, passage_to, release_curve_mg_L
from ecobasin.rivers.refit import scaled_network
from ecobasin.services import incidents as service
from ecobasin.store import incidents as db
from ecobasin.store.database import Store

__all__ = ["NETWORK", "install"]

NETWORK = "demo"
CST = timezone(timedelta(hours=8))
_DATA = resources.files("ecobasin.demo") / "data"
_STOCKS = (
    ("CD-01", "510100", "成都市应急物资库 Chengdu depot", "activated carbon 活性炭", 80.0, "t"),
    ("CD-01", "510100", "成都市应急物资库 Chengdu depot", "oil boom 围油栏", 3000.0, "m"),
    ("ZY-01", "512000", "资阳市应急物资库 Ziyang depot", "activated carbon 活性炭", 20.0, "t"),
    ("NJ-01", "511000", "内江市应急物资库 Neijiang depot", "oil boom 围油栏", 1200.0, "m"),
    ("SN-01", "510900", "遂宁市应急物资库 Suining depot", "sodium hydroxide 氢氧化钠", 15.0, "t"),
)


def install(store: Store, region_cities: list[str], year: int, seed: int) -> dict[str, Any]:
    """Store the network, the stocks and the drill; returns what was made."""
    nodes, reaches = service.read_network_files(
        Path(str(_DATA / "river_nodes.csv")), Path(str(_DATA / "river_reaches.csv"))
    )
    t0 = datetime(year, 11, 10, 9, 40, tzinfo=CST)
    summary = service.import_network(store, NETWORK, nodes, reaches, t0)
    stock = pd.DataFrame(
        _STOCKS, columns=["depot_id", "city_code", "depot_name", "item", "quantity", "unit"]
    )
    stock["expires_on"] = None
    db.upsert_stocks(store, stock, t0)
    incident_id = service.open_incident(
        store, title="演练：沱江苯泄漏 Drill: benzene spill on the Tuojiang", network=NETWORK,
        node_id="T03", city="510100", substance="benzene",
        release={"mode": "instantaneous", "mass_kg": 2000.0},
        facts={"deaths": 0, "poisoned_or_injured": 0, "evacuated": 0, "direct_loss_cny": 8e5},
        occurred_at=t0 - timedelta(hours=1), discovered_at=t0 - timedelta(minutes=35),
        determined_at=t0, actor="chengdu-duty", region_cities=region_cities, now=t0, drill=True,
    )  # fmt: skip
    _respond(store, incident_id, t0, seed)
    return {"nodes": summary["nodes"], "reaches": summary["reaches"], "incident": incident_id}


def _respond(store: Store, incident_id: str, t0: datetime, seed: int) -> None:
    """Acknowledgements (one late), approvals, two stations' results and the refit."""
    cross = db.notices(store, incident_id).query("kind == 'cross_boundary'")
    on_time = cross[cross["to_city"] == "512000"]  # Ziyang in time, the others late
    for notice_id, city in zip(on_time["notice_id"], on_time["to_city"], strict=True):
        service.acknowledge(
            store, incident_id, int(notice_id), str(city), "duty", t0 + timedelta(minutes=12)
        )
    service.escalate_overdue(store, t0 + timedelta(minutes=31))
    late = cross[cross["to_city"] != "512000"]
    for notice_id, city in zip(late["notice_id"], late["to_city"], strict=True):
        service.acknowledge(
            store, incident_id, int(notice_id), str(city), "duty", t0 + timedelta(minutes=50)
        )
    parties = sorted(set(service.incident_view(store, incident_id)["plan"]["responsible_city"]))
    for city in parties:
        service.approve_plan(
            store, incident_id, city, f"{city}-monitoring", t0 + timedelta(hours=1)
        )
    graph = service.graph_of(store, NETWORK)
    truth = scaled_network(graph, 0.8, 1.6)
    rng = np.random.default_rng(seed)
    occurred = t0 - timedelta(hours=1)
    for station, city in (("T04", "510100"), ("T05", "512000")):
        passage, discharge = passage_to(truth, "T03", station, 0.0)
        hours = np.arange(max(1.0, passage.mean_s / 3600 - 14), passage.mean_s / 3600 + 14, 1.0)
        curve = [
            release_curve_mg_L(
                Release("instantaneous", mass_kg=1500.0), discharge, passage, h * 3600
            )
            for h in hours
        ]
        noisy = np.maximum(0.0, np.array(curve) * (1 + 0.05 * rng.standard_normal(len(hours))))
        rows = pd.DataFrame({
            "node_id": station, "sampled_at": [occurred + timedelta(hours=float(h)) for h in hours],
            "value_mg_L": noisy.round(5), "method": "auto",
        })  # fmt: skip
        now = occurred + timedelta(hours=float(hours[-1]) + 1)
        service.add_results(store, incident_id, rows, city, f"{city}-station", now)
    service.refit(store, incident_id, "province", now)
    service.request_material(
        store,
        incident_id,
        "512000",
        "510100",
        "activated carbon 活性炭",
        10.0,
        "t",
        "ziyang",
        t0 + timedelta(hours=2),
    )
