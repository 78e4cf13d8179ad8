"""The faster water refresh (issue 7): the job's vectorised river, basin and region rows are
the rows of the straightforward path (``water.river_record`` per group and period, kept in
``reference_groups.py``), on the demo year and on random sections around the class limits.

The demo year is built in a real DuckDB file (tmp_path) by the same code as ``ecobasin demo``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference_groups import group_table as reference_group_table
from reference_groups import section_table as reference_section_table

from ecobasin import catalog
from ecobasin.demo import water as demo_water
from ecobasin.jobs.water_quality import refresh_water_quality
from ecobasin.standards import water
from ecobasin.standards import water_assessment as job
from ecobasin.store import Store, _sql
from ecobasin.store import water as store_water
from store_files import new_synced_store_file

YEAR = 2025
START = datetime(YEAR - 1, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 CST, 1 January
END = datetime(YEAR, 12, 31, 15, 59, 59, tzinfo=UTC)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _same(a: Any, b: Any) -> bool:
    """Equal values; NaN, NA and None (a missing number) equal each other."""
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return bool(a == b)


def _differences(fast: pd.DataFrame, slow: pd.DataFrame) -> list[str]:
    """Cells that differ (rows in the same order, same columns), named by row."""
    assert list(fast.columns) == list(slow.columns)
    assert len(fast) == len(slow)
    out = []
    for a, b in zip(fast.to_dict("records"), slow.to_dict("records"), strict=True):
        name = " ".join(str(b.get(k, "")) for k in ("scope", "scope_id", "site_id", "period"))
        out += [f"{name} {k}: {a[k]!r} != {b[k]!r}" for k in b if not _same(a[k], b[k])]
    return out


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(new_synced_store_file(tmp_path_factory.mktemp("refresh") / "demo.duckdb"))
    region = catalog.load_region()
    demo_water.install(store, region, year=YEAR)
    return store


@pytest.fixture(scope="module")
def demo_year(demo_store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    sections = store_water.water_sections(demo_store)
    obs = store_water.water_observations(demo_store, start=START, end=END)
    return obs, sections


#: The demo months whose group rows are compared with the per-group path: winter, the wet
#: season and the year's end. The per-group path takes ~0.7 s of CPU per month; each month has
#: every kind of group (river, basin, region, city) and both methods, asserted below.
COMPARED_MONTHS = ("2025-01", "2025-07", "2025-12")


@pytest.mark.parametrize("kind", ["month", "year"])
def test_demo_group_rows_equal_the_per_group_path(
    demo_year: tuple[pd.DataFrame, pd.DataFrame], kind: str
) -> None:
    obs, sections = demo_year
    means = job.period_item_means(obs, kind)
    results = job.section_table(means, sections, kind)
    assert _differences(results, reference_section_table(means, sections, kind)) == []
    fast = job.group_table(results, sections, "region", kind)
    assert len(fast["period"].unique()) == (12 if kind == "month" else 1)
    if kind == "month":  # the fast rows of the whole year, compared in the chosen months
        fast = fast[fast["period"].isin(COMPARED_MONTHS)].reset_index(drop=True)
        results = results[results["period"].isin(COMPARED_MONTHS)]
        assert sorted(fast["period"].unique()) == list(COMPARED_MONTHS)
    slow = reference_group_table(results, sections, "region", kind)
    assert _differences(fast, slow) == []
    assert set(fast["scope"]) == {"river", "basin", "region", "city"}
    # both methods occur: rivers of fewer than 5 sections and basins of 5 or more
    methods = set(fast.loc[fast["scope"] != "city", "method"])
    assert methods == {"mean", "shares"}


def test_stored_group_rows_are_the_computed_ones(
    demo_store: Store, demo_year: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    obs, sections = demo_year
    results, _ = job.compute_year(obs, sections, "region")
    stored = _sql.frame(
        demo_store,
        "SELECT scope, scope_id, period, method, class_num, status_num, share_I_III "
        "FROM water_group_results WHERE period LIKE '2025%' ORDER BY scope, scope_id, period",
    )
    computed = results["water_group_results"].sort_values(["scope", "scope_id", "period"])
    assert len(stored) == len(computed) > 0
    assert list(stored["method"].fillna("")) == list(computed["method"].fillna(""))
    assert list(stored["status_num"].fillna(0)) == list(computed["status_num"].fillna(0))


def _random_results(seed: int, n_sections: int = 40, months: int = 3) -> tuple[pd.DataFrame, ...]:
    """Section results of random sections whose means sit near and on the Class III and V
    limits (boundaries inclusive), with lakes, missing items and rivers of 1 to 9 sections."""
    rng = np.random.default_rng(seed)
    limits = water.item_limits("river")
    rivers = [f"河{i}" for i in range(8)]
    sections = pd.DataFrame(
        {
            "site_id": [f"S{i:03d}" for i in range(n_sections)],
            "river_zh": rng.choice([*rivers, None], n_sections),
            "basin_zh": rng.choice(["甲流域", "乙流域", None], n_sections, p=[0.5, 0.4, 0.1]),
            "water_body": rng.choice(["river", "lake"], n_sections, p=[0.85, 0.15]),
            "target_class": rng.choice(["II", "III", None], n_sections),
            "city_code": rng.choice([510100, 510600, 511400], n_sections),
        }
    )
    rows = []
    for month in range(1, months + 1):
        for site in sections["site_id"]:
            for item in water.EVALUATED_ITEMS:
                if rng.random() < 0.1:
                    continue  # not measured that month
                lim = limits[item]
                if lim.direction == "range":
                    value = float(rng.choice([5.9, 6.0, 7.5, 9.0, 9.2]))
                else:
                    base = lim.limit(int(rng.choice([2, 3, 5])))
                    value = float(base * rng.choice([0.5, 1.0, 1.0, 1.3, 2.7]))
                rows.append((site, f"2025-{month:02d}", item, value, 1, True, "manual"))
    means = pd.DataFrame(
        rows, columns=["site_id", "period", "item", "mean", "n", "complete", "source"]
    )
    results = job.section_table(means, sections, "month")
    assert _differences(results, reference_section_table(means, sections, "month")) == []
    return results, sections


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_group_rows_equal_the_per_group_path(seed: int) -> None:
    results, sections = _random_results(seed)
    fast = job.group_table(results, sections, "region", "month")
    slow = reference_group_table(results, sections, "region", "month")
    assert _differences(fast, slow) == []
    shares = fast[fast["method"] == "shares"]
    assert len(shares) > 0 and (fast["method"] == "mean").any()
    # the shares rows name at most three main pollutants, all among the exceeding items
    for row in shares.itertuples():
        assert len(row.main_pollutants) <= 3
        assert set(row.main_pollutants) <= set(row.detail["exceedance_rate_pct"])


def test_empty_and_unclassified_results_give_no_group_rows() -> None:
    results, sections = _random_results(7, n_sections=3, months=1)
    assert job.group_table(results.iloc[0:0], sections, "region", "month").empty
    unclassified = results.assign(class_num=0)
    assert job.group_table(unclassified, sections, "region", "month").empty


def test_refresh_of_the_demo_year_rewrites_the_same_rows(demo_store: Store) -> None:
    before = _sql.frame(
        demo_store,
        "SELECT scope, scope_id, period, detail::VARCHAR AS detail FROM water_group_results "
        "ORDER BY scope, scope_id, period",
    )
    report = refresh_water_quality(demo_store, region_id=catalog.load_region().id)
    after = _sql.frame(
        demo_store,
        "SELECT scope, scope_id, period, detail::VARCHAR AS detail FROM water_group_results "
        "ORDER BY scope, scope_id, period",
    )
    assert report["years"] == [YEAR]
    assert report["group_rows"] == len(after) > 0
    pd.testing.assert_frame_equal(before, after)
