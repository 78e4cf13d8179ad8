"""Source analysis answers (查源头) for the CLI (``ecobasin sources …``), the API
(``/api/v1/sources/{site_id}/{method}``) and the station's source page.

One station, one pollutant, one period of CST days: the hourly concentrations joined on the same
UTC hour with the station's wind, taken from (in order) its own ``wind_speed``/``wind_direction``
observations, the nearest site within ``max_km`` that measures wind, or the city's imported
meteorology table (:mod:`ecobasin.sources.wind`). The methods are the pure ones of
:mod:`ecobasin.sources` (brief ``../shared/reference/nonroad_and_source.md`` Part B): pollution
rose (B2), percentile rose, CPF (B3), CBPF and the bivariate polar plot (B4, B5). Each answer
says how many hours it used, the calm share and whether the record is shorter than the B8
minimum (one season, 90 days); they show a likely source direction, never a source share (B8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.errors import InputError, NotFound
from ecobasin.services import figure_cache
from ecobasin.sources import directional, plots, polar
from ecobasin.sources.wind import (
    WIND_DIRECTION,
    WIND_SPEED,
    WindSeries,
    join_wind,
    nearest_site,
    wide_wind,
)
from ecobasin.store.database import Store
from ecobasin.store.sources import station_parameter_spans

__all__ = [
    "CAPTION",
    "METHODS",
    "SourceData",
    "analyse",
    "plot_png",
    "site_names",
    "station_choices",
    "station_data",
]

#: B8: the guardrail every answer and plot carries
CAPTION = plots.CAPTION
METHODS = ("rose", "percentile", "cpf", "cbpf", "polar")
#: the pollutants a station's source page offers (GB 3095-2012 Table 1)
POLLUTANTS = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")
#: B8: at least one full season of hourly data before a plot is read with confidence [h]
MIN_HOURS_ADVISED = 90 * 24
#: the longest period one answer analyses [days] (five years of hours: a bound on the work)
MAX_DAYS = 5 * 366
#: below this many joined hours no method runs at all [h]
MIN_HOURS = 24
_WIND = [WIND_SPEED, WIND_DIRECTION]


@dataclass(frozen=True)
class SourceData:
    """The joined hours (time, conc, ws, wd) of a station and pollutant, and their provenance."""

    site_id: str
    name_zh: str | None
    name_en: str | None
    pollutant: str
    unit: str
    start: pd.Timestamp
    end: pd.Timestamp
    frame: pd.DataFrame
    wind: WindSeries

    def facts(self, calm_ws: float) -> dict[str, Any]:
        """What every answer reports beside its values."""
        ws = self.frame["ws"].to_numpy()
        return {
            "site_id": self.site_id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "pollutant": self.pollutant,
            "unit": self.unit,
            "start": self.start.date().isoformat(),
            "end": self.end.date().isoformat(),
            "hours": len(self.frame),
            "wind_origin": self.wind.origin,
            "wind_site": self.wind.origin_site,
            "wind_distance_km": None
            if self.wind.distance_km is None
            else round(self.wind.distance_km, 2),
            "calm_ws": calm_ws,
            "calm_share": float((ws < calm_ws).mean()) if ws.size else 0.0,
            "short_record": len(self.frame) < MIN_HOURS_ADVISED,
            "guardrail": plots.CAPTION,
        }


def _utc_span(start: date, end: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants of the hour-ending labels 01:00 of ``start`` … 24:00 of ``end`` (CST)."""
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InputError(f"a period of at most {MAX_DAYS} days, got {(end - start).days + 1}")
    first = pd.Timestamp(start).tz_localize("Asia/Shanghai") + pd.Timedelta(hours=1)
    last = pd.Timestamp(end).tz_localize("Asia/Shanghai") + pd.Timedelta(days=1)
    return first.tz_convert("UTC"), last.tz_convert("UTC")


def _station_wind(
    store: Store, site: pd.Series, first: pd.Timestamp, last: pd.Timestamp, max_km: float
) -> WindSeries:
    """Own wind, else the nearest site measuring wind, else the city's imported meteorology."""
    span: dict[str, Any] = {"periods": ["1h"], "parameters": _WIND, "start": first, "end": last}
    own = wide_wind(store.observations(sites=[site["site_id"]], **span))
    if not own.empty:
        return WindSeries(own, "station", site["site_id"])
    others = store.observations(cities=None, **span)
    measuring = sorted(set(others["site_id"]) - {site["site_id"]})
    if measuring:
        candidates = store.sites(site_ids=measuring)
        near = nearest_site(site["lon"], site["lat"], candidates, max_km)
        if near is not None:
            wind = wide_wind(others[others["site_id"] == near[0]])
            return WindSeries(wind, "nearest", near[0], near[1])
    met = store.meteorology(cities=[int(site["city_code"])])
    met = met[met["parameter"].isin(_WIND) & (met["period"] == "1h")]
    met = met[(met["time"] >= first) & (met["time"] <= last)]
    return WindSeries(wide_wind(met), "imported", None)


def station_data(
    store: Store,
    site_id: str,
    pollutant: str,
    start: date,
    end: date,
    *,
    max_km: float = 50.0,
    kinds: tuple[str, ...] | None = None,
) -> SourceData:
    """The hours of ``pollutant`` at ``site_id`` in the CST days ``start``…``end`` with a wind;
    a site not of ``kinds`` (those the caller may read) is not found."""
    site_rows = store.sites(site_ids=[site_id], kinds=kinds)
    if site_rows.empty:
        raise NotFound(f"no site {site_id!r}")
    site = site_rows.iloc[0]
    first, last = _utc_span(start, end)
    conc = store.observations(
        sites=[site_id], parameters=[pollutant], periods=["1h"], start=first, end=last
    )
    if conc.empty:
        raise NotFound(f"no hourly {pollutant} at {site_id} from {start} to {end}")
    wind = _station_wind(store, site, first, last, max_km)
    joined = join_wind(conc.rename(columns={"value": "conc"}), wind.frame)
    if len(joined) < MIN_HOURS:
        raise InputError(
            f"{site_id} {pollutant} {start}…{end}: only {len(joined)} hours have a wind "
            f"({wind.origin}), at least {MIN_HOURS} are needed"
        )
    return SourceData(
        site_id=site_id,
        name_zh=site["name_zh"],
        name_en=site["name_en"],
        pollutant=pollutant,
        unit=str(conc["unit"].iloc[0]),
        start=pd.Timestamp(start),
        end=pd.Timestamp(end),
        frame=joined,
        wind=wind,
    )


def _columns(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """wd [°], ws [m/s] and conc of the joined hours as arrays."""
    return tuple(frame[c].to_numpy(dtype=float) for c in ("wd", "ws", "conc"))  # type: ignore[return-value]


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dict(orient="records")
    return [{str(k): _finite(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def analyse(
    data: SourceData,
    method: str,
    *,
    percentile: float = 75.0,
    upper_percentile: float | None = None,
    calm_ws: float = 0.5,
    min_n: int = 10,
    min_bin: int = 1,
) -> dict[str, Any]:
    """The values of one method: the common facts plus ``threshold`` and ``items``."""
    wd, ws, conc = _columns(data.frame)
    m_wd, m_ws, m_conc = _columns(data.frame[data.frame["ws"] >= calm_ws])
    out = data.facts(calm_ws) | {"method": method, "threshold": None, "upper_threshold": None}
    if method == "rose":
        table = directional.pollution_rose(m_wd, m_conc, 30.0)
        table.index = table.index.astype(float)
        items = table.sort_index().rename_axis("sector").reset_index()
    elif method == "percentile":
        items, _ = polar.percentile_rose(wd, conc, ws=ws, calm_ws=calm_ws)
    elif method == "cpf":
        threshold, table, _ = directional.cpf(
            wd, conc, percentile, 10.0, ws=ws, calm_ws=calm_ws, min_n=min_n
        )
        table.index = table.index.astype(float)
        items = table.sort_index().rename_axis("sector").reset_index()
        out["threshold"] = threshold
    elif method in ("cbpf", "polar"):
        levels = [percentile] if upper_percentile is None else [percentile, upper_percentile]
        statistic = "cpf" if method == "cbpf" else "mean"
        items = polar.polar_bins(
            m_wd, m_ws, m_conc, statistic=statistic, percentile=levels, min_bin=min_bin
        )
        items["weight"] = items["weight"].astype(float)
        if method == "cbpf":
            thresholds = directional.percentile_type7(m_conc, levels)
            out["threshold"] = float(thresholds[0])
            out["upper_threshold"] = float(thresholds[1]) if thresholds.size > 1 else None
    else:
        raise InputError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    out["items"] = _records(items)
    return out


def plot_png(
    data: SourceData,
    method: str,
    *,
    percentile: float = 75.0,
    upper_percentile: float | None = None,
    calm_ws: float = 0.5,
    min_n: int = 10,
    min_bin: int = 1,
) -> bytes:
    """The PNG of one method, titled bilingually with the station, pollutant and period; drawn
    once per distinct input (:data:`~ecobasin.services.figure_cache.FIGURES`)."""
    key = figure_cache.digest((
        "source plot", method, percentile, upper_percentile, calm_ws, min_n, min_bin,
        data.site_id, data.name_zh, data.pollutant, data.unit, data.start, data.end, data.frame,
    ))  # fmt: skip
    return figure_cache.FIGURES.get_or_draw(key, lambda: _draw_plot(
        data, method, percentile=percentile, upper_percentile=upper_percentile,
        calm_ws=calm_ws, min_n=min_n, min_bin=min_bin,
    ))  # fmt: skip


def _draw_plot(
    data: SourceData,
    method: str,
    *,
    percentile: float,
    upper_percentile: float | None,
    calm_ws: float,
    min_n: int,
    min_bin: int,
) -> bytes:
    wd, ws, conc = _columns(data.frame)
    m_wd, m_ws, m_conc = _columns(data.frame[data.frame["ws"] >= calm_ws])
    name = data.name_zh or data.site_id
    period = f"{data.start.date()}…{data.end.date()}"
    titles = {
        "rose": "污染玫瑰图 pollution rose",
        "percentile": "百分位玫瑰图 percentile rose",
        "cpf": f"条件概率函数 CPF (P{percentile:g})",
        "cbpf": f"条件双变量概率函数 CBPF (P{percentile:g})",
        "polar": "双变量极坐标图 bivariate polar plot",
    }
    if method not in titles:
        raise InputError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    title = f"{name} {data.site_id} {data.pollutant} {titles[method]}\n{period}"
    if method == "rose":
        return plots.pollution_rose_png(
            m_wd, m_conc, title=title, unit=data.unit,
            min_n=min_n,
        )  # fmt: skip
    if method == "percentile":
        rose, _ = polar.percentile_rose(wd, conc, ws=ws, calm_ws=calm_ws)
        return plots.percentile_rose_png(rose, title=title, unit=data.unit, min_n=min_n)
    if method == "cpf":
        threshold, table, _ = directional.cpf(
            wd, conc, percentile, 10.0, ws=ws, calm_ws=calm_ws, min_n=min_n,
        )  # fmt: skip
        table.index = table.index.astype(float)
        return plots.cpf_rose_png(
            table, title=title, threshold=threshold, unit=data.unit, min_n=min_n
        )
    levels = [percentile] if upper_percentile is None else [percentile, upper_percentile]
    statistic = "cpf" if method == "cbpf" else "mean"
    bins = polar.polar_bins(
        m_wd, m_ws, m_conc, statistic=statistic, percentile=levels, min_bin=min_bin
    )
    surface = polar.polar_surface(bins, probability=method == "cbpf")
    label = "CBPF [1]" if method == "cbpf" else f"{data.pollutant} 平均浓度 mean [{data.unit}]"
    return plots.polar_png(bins, surface, title=title, label=label, min_bin=min_bin)


def station_choices(where: Any, site_id: str) -> dict[str, Any]:
    """The air pollutants the station holds hourly, and the CST days of the last year of them
    (the page's default period: B8 asks for a year, or at least a season)."""
    spans = station_parameter_spans(where, site_id)
    held = spans[spans["parameter"].isin(POLLUTANTS)]
    if held.empty:
        return {"pollutants": [], "first_day": None, "last_day": None, "default_start": None}
    hour = pd.Timedelta(hours=1)  # hour-ending: the label 24:00 belongs to the day before
    first = (pd.Timestamp(held["first"].min()).tz_convert("Asia/Shanghai") - hour).date()
    last = (pd.Timestamp(held["last"].max()).tz_convert("Asia/Shanghai") - hour).date()
    start = max(first, last - timedelta(days=364))
    order = [p for p in POLLUTANTS if p in set(held["parameter"])]
    return {"pollutants": order, "first_day": first, "last_day": last, "default_start": start}


def site_names(
    store: Store, site_id: str, kinds: tuple[str, ...] | None = None
) -> dict[str, Any] | None:
    """site_id, name_zh, name_en and city of a site the caller may read (``kinds``), or None."""
    found = store.sites(site_ids=[site_id], kinds=kinds)
    if found.empty:
        return None
    row = found.iloc[0]
    return {
        "site_id": site_id,
        "name_zh": row["name_zh"],
        "name_en": row["name_en"] if isinstance(row["name_en"], str) else row["name_zh"],
        "city_zh": row["city_zh"],
        "city_en": row["city_en"],
    }
