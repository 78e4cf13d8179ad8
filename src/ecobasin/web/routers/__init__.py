"""One router per resource, assembled under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from ecobasin.web.routers import cities, health, home, observations, parameters, sites

__all__ = ["API_PREFIX", "api_router", "home_router"]

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX)
for _module in (health, cities, sites, parameters, observations):
    api_router.include_router(_module.router)

home_router = home.router
