"""Helpers shared by the import tests: hand-made files and a fresh store with sites."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ecobasin import catalog
from ecobasin.store import Store


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def new_store(tmp_path: Path, *site_ids: str) -> Store:
    store = Store(tmp_path / "test.duckdb")
    store.sync_catalog(catalog.load_region())
    if site_ids:
        store.upsert_sites(
            pd.DataFrame(
                {
                    "site_id": list(site_ids),
                    "kind": "air_station",
                    "level": "national",
                    "city_code": 510100,
                    "name_zh": None,
                    "name_en": None,
                    "lon": None,
                    "lat": None,
                }
            ),
            source="test",
        )
    return store
