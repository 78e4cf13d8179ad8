"""One router per resource, assembled under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from ecobasin.web.api import (
    admin,
    alarms,
    aqi,
    carbon,
    cases,
    cities,
    consultation,
    editing,
    emergency,
    forecast,
    freshness,
    health,
    incidents,
    inspections,
    keytasks,
    ledger,
    live,
    machinery,
    map,
    noise,
    observations,
    parameters,
    rankings,
    reports,
    sites,
    source_pmf,
    source_trajectories,
    sources,
    water,
    writes,
)

__all__ = ["API_PREFIX", "api_router"]

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
# air quality: /aqi, /map, /rankings. First: routes are matched in order, and the map
# is the most requested answer (bench/api_bench.py); no other path overlaps them.
for _module in (aqi, map, rankings):
    api_router.include_router(_module.router)
for _module in (health, cities, sites, parameters, observations):
    api_router.include_router(_module.router)
for _module in (admin, writes):  # rights: /me, /users, /tokens, writes
    api_router.include_router(_module.router)
api_router.include_router(alarms.router)  # alarms: /alarms, /limits
api_router.include_router(water.router)  # surface water: /water/...
api_router.include_router(carbon.router)  # carbon: /carbon/...
api_router.include_router(forecast.router)  # forecasts: /forecasts, /warnings
api_router.include_router(ledger.router)  # carbon-inclusive ledger: /ledger/...
api_router.include_router(live.router)  # live enterprises, gateway status
api_router.include_router(noise.router)  # environmental noise: /noise/...
api_router.include_router(freshness.router)  # /freshness: the badge and the demo banner
api_router.include_router(editing.router)  # editors' uploads, retirements, city audit log
api_router.include_router(emergency.router)  # emergency control lists: /emergency/...
api_router.include_router(machinery.router)  # non-road machinery: /machinery/...
api_router.include_router(consultation.router)  # joint forecast consultation
api_router.include_router(incidents.router)  # sudden incidents on shared rivers
api_router.include_router(incidents.rivers)  # river networks: /rivers/{network}
api_router.include_router(incidents.materials)  # emergency reserves: /materials/stocks
api_router.include_router(cases.router)  # rectification cases 督察整改 (issue 18)
api_router.include_router(keytasks.router)  # the region's key tasks 年度重点任务
api_router.include_router(inspections.router)  # inspections and feedback problems 督察与反馈问题
api_router.include_router(source_pmf.router)  # PMF runs: /sources/{site}/pmf (before {method})
api_router.include_router(sources.router)  # source analysis 查源头: /sources/{site}/{method}
api_router.include_router(source_trajectories.router)  # PSCF/CWT: /sources/{site}/trajectories
api_router.include_router(reports.router)  # bulletins and reports 公报 (issue 19)
api_router.include_router(reports.scorecard_router)  # target scorecards 考核 (issue 19)
