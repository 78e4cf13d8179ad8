"""``evaluation.hourly_wide`` (the Dask worker's long → wide step over a lake partition) answers
what a pandas ``pivot_table`` of the same rows answers (the definition it replaced for speed,
issue 20): the largest of duplicate values, NaN values ignored, invalid flags and other
periods, pollutants and sites left out, every (site, hour) of the sites and hours present (a
site missing for some hours gets NaN rows), ordered by site and time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecobasin.services import evaluation
from ecobasin.store import air as store_air


def pivot_reference(long: pd.DataFrame, sites: list[str]) -> pd.DataFrame:
    """The earlier implementation, kept here as the oracle."""
    keep = (
        long["site_id"].isin(sites)
        & (long["period"] == "1h")
        & long["parameter"].isin(store_air.AIR_PARAMETERS)
        & ~long["flag"].isin(store_air.INVALID_FLAGS)
    )
    rows = long.loc[keep, ["site_id", "time", "parameter", "value"]]
    wide = rows.pivot_table(
        index=["site_id", "time"], columns="parameter", values="value", aggfunc="max", dropna=False
    )
    wide = wide.reindex(columns=list(store_air.AIR_PARAMETERS)).reset_index()
    wide.columns.name = None
    wide["time"] = pd.to_datetime(wide["time"], utc=True)
    for p in store_air.AIR_PARAMETERS:
        wide[p] = wide[p].astype("float64")
    return wide.sort_values(["site_id", "time"]).reset_index(drop=True)


def messy_long() -> pd.DataFrame:
    """Three sites × 48 hours × the six pollutants and a non-air parameter, with holes, a site
    absent for 10 hours, duplicates (larger and smaller), NaN values, an invalid flag, a 24-h
    value and an unknown site, shuffled."""
    rng = np.random.default_rng(20)
    times = pd.date_range("2020-01-01 01:00", periods=48, freq="h", tz="UTC")
    params = [*store_air.AIR_PARAMETERS, "TSP"]
    index = pd.MultiIndex.from_product([["S2", "S1", "S3", "X9"], times, params])
    long = index.to_frame(index=False, name=["site_id", "time", "parameter"])
    long["period"] = "1h"
    long["value"] = rng.gamma(2.5, 10.0, len(long)).round(1)
    long["flag"] = None
    long = long[rng.random(len(long)) >= 0.05]
    long = long[~((long["site_id"] == "S3") & (long["time"] < times[10]))]
    dup = long.sample(40, random_state=1).assign(value=lambda f: f["value"] + 7.0)
    low = long.sample(40, random_state=2).assign(value=lambda f: f["value"] - 7.0)
    long = pd.concat([long, dup, low], ignore_index=True)
    long.loc[long.sample(30, random_state=3).index, "value"] = np.nan
    long.loc[long.sample(30, random_state=4).index, "flag"] = sorted(store_air.INVALID_FLAGS)[0]
    long.loc[long.sample(30, random_state=5).index, "period"] = "24h"
    return long.sample(frac=1.0, random_state=6).reset_index(drop=True)


def test_hourly_wide_is_the_pivot_of_the_same_rows() -> None:
    long = messy_long()
    sites = ["S1", "S2", "S3"]
    wide = evaluation.hourly_wide(long, sites)
    pd.testing.assert_frame_equal(wide, pivot_reference(long, sites))
    # the absent hours of S3 are rows of NaN, as the pivot's site × hour product has them
    s3 = wide[wide["site_id"] == "S3"]
    assert len(s3) == 48
    assert s3.head(10)[list(store_air.AIR_PARAMETERS)].isna().all().all()


def test_hourly_wide_of_no_rows_is_empty() -> None:
    long = messy_long()
    wide = evaluation.hourly_wide(long, ["nobody"])
    assert wide.empty
    assert list(wide.columns) == ["site_id", "time", *store_air.AIR_PARAMETERS]
