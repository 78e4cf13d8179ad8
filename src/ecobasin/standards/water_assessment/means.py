"""Period means of water sections per item (环办〔2011〕22号 §一(二)).

Manual samples (period ``sample``) and automatic-station values (``4h``/``1h``, validity
thresholds of ``evaluation.toml``) are averaged per section, item and month or year; an item with
a valid automatic mean uses it, otherwise the manual mean (ecobasin's reading of the national
practice since 2021 that automatic data are assessed where a station measures the item
[assume]); non-detects (flag ``L``) enter as ½ DL. Concentrations in [mg/L] (fecal coliforms
[MPN/L]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecobasin.standards import water

__all__ = ["MANUAL_PERIOD", "period_item_means", "period_item_means_by_kind"]

#: ``period`` of manual samples (every other period is an automatic station's).
MANUAL_PERIOD = "sample"


def _long(obs: pd.DataFrame) -> pd.DataFrame:
    # the instants stay a tz-aware column (to_numpy would make 10^5 Timestamp objects)
    return pd.DataFrame(
        {
            "site_id": obs["site_id"].astype(str).to_numpy(),
            "time": pd.to_datetime(obs["time"], utc=True).reset_index(drop=True),
            "item": obs["parameter"].astype(str).to_numpy(),
            "value": obs["value"].to_numpy(dtype=np.float64),
            "nondetect": (obs["flag"] == "L").to_numpy(dtype=bool),
        }
    )


def period_item_means(obs: pd.DataFrame, period: str) -> pd.DataFrame:
    """Period means per section and item, the automatic mean preferred where valid.

    Parameters
    ----------
    obs : pandas.DataFrame
        As :func:`ecobasin.store.water.water_observations` returns (values [mg/L]).
    period : {"month", "year"}

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``period`` (``2025-10`` / ``2025``), ``item``, ``mean`` (unrounded),
        ``n``, ``complete``, ``source`` (``"auto"`` or ``"manual"``); only valid means.

    References
    ----------
    .. [1] 环办〔2011〕22号 §一(二) (data statistics); ``evaluation.toml`` (automatic validity).
    """
    return _best_means(_by_source(obs), period)


def period_item_means_by_kind(
    obs: pd.DataFrame, kinds: tuple[str, ...] = ("month", "year")
) -> dict[str, pd.DataFrame]:
    """:func:`period_item_means` of several period kinds, the observations prepared once."""
    by_source = _by_source(obs)
    return {kind: _best_means(by_source, kind) for kind in kinds}


def _by_source(obs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The observations in the engine's long layout, manual and automatic apart."""
    manual = obs["period"] == MANUAL_PERIOD
    parts = {"manual": obs[manual], "auto": obs[~manual]}
    return {kind: _long(rows) for kind, rows in parts.items() if not rows.empty}


def _best_means(by_source: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    parts = []
    for kind, rows in by_source.items():
        means = water.period_means(rows, period, source_kind=kind)
        parts.append(means[means["valid"]].assign(source=kind))
    columns = ["site_id", "period", "item", "mean", "n", "complete", "source"]
    if not parts:
        return pd.DataFrame(columns=columns)
    both = pd.concat(parts, ignore_index=True)
    both["rank"] = (both["source"] == "manual").astype(int)  # auto first
    best = both.sort_values(["site_id", "period", "item", "rank"], kind="stable")
    best = best.drop_duplicates(["site_id", "period", "item"], keep="first")
    return best[columns].reset_index(drop=True)
