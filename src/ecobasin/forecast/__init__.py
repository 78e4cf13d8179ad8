"""Forecasting core (pure): features, models, AQI ranges, verification, backtests and
heavy-pollution warning rules (see docs/forecast.md).

* :mod:`~ecobasin.forecast.features` — city daily series, calendar, lags, meteorology;
* :mod:`~ecobasin.forecast.models` — persistence, climatology, LightGBM (saved as text);
* :mod:`~ecobasin.forecast.aqi_range` — AQI, range, level, primary pollutant of a forecast;
* :mod:`~ecobasin.forecast.verify` — level / range / primary accuracy, RMSE, POD/FAR/TS;
* :mod:`~ecobasin.forecast.backtest` — rolling-origin backtests without leakage;
* :mod:`~ecobasin.forecast.warning` — 648号 warning levels, city and regional warnings;
* :mod:`~ecobasin.forecast.plots` — PNG plots (matplotlib, CJK font).
"""
