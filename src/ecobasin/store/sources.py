"""SQL of the source-analysis page (issue 19): which pollutants a station holds hourly, and over
which span of time, so the page can offer a pollutant and a default period."""

from __future__ import annotations

import pandas as pd

from ecobasin.store import _sql

__all__ = ["station_parameter_spans"]


def station_parameter_spans(where: _sql.Connection, site_id: str) -> pd.DataFrame:
    """parameter, first, last (UTC instants) of the station's hourly observations."""
    return _sql.frame(
        where,
        "SELECT parameter, min(time) AS first, max(time) AS last FROM observations "
        "WHERE site_id = ? AND period = '1h' GROUP BY parameter ORDER BY parameter",
        [site_id],
    )
