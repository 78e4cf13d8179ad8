"""Ambient air-quality standards engine: HJ 633 (AQI), GB 3095 (limits, validity), HJ 663.

The public face of ``ecobasin.standards.air``; the implementation is split into

* :mod:`ecobasin.standards.air_tables`: rule-set data (breakpoints, limits, levels, validity,
  composite-index weights) loaded from ``ecobasin/catalog/data/air``;
* :mod:`ecobasin.standards.air_index`: IAQI / AQI, real-time and daily reports (HJ 633-2012,
  HJ 633-2026, optional EPA-2024);
* :mod:`ecobasin.standards.air_stats`: averages with validity (GB 3095 Table 4, HJ 663 §6);
* :mod:`ecobasin.standards.air_eval`: percentiles, annual assessment, city values, composite
  index and rankings (HJ 663, 环办监测〔2018〕19号);
* :mod:`ecobasin.standards.rounding`: GB/T 8170 rounding.

Rule sets are chosen by the data's local date (before 2026-03-01 → ``"HJ633-2012"``, from then
``"HJ633-2026"``) unless the caller names one, and every result records the rule set used.

References
----------
.. [1] HJ 633-2012; HJ 633-2026; GB 3095-2012 (+ 2018 amendment); GB 3095-2026; HJ 663-2013.
"""

from ecobasin.standards.air_eval import (
    ANNUAL_STATISTICS,
    annual_statistics,
    attainment_rate,
    city_daily,
    city_ranking,
    compliance,
    composite_index,
    exceed_multiple,
    good_day_ratio,
    grouped_percentile,
    percentile,
    rank_jointly,
)
from ecobasin.standards.air_index import (
    INDICATOR_ORDER,
    AQIArrays,
    Indicator,
    aqi_arrays,
    aqi_level,
    aqi_record,
    daily_aqi,
    hourly_aqi,
    iaqi,
    iaqi_array,
    iaqi_value,
    level_info,
    local_day,
    report_indicators,
)
from ecobasin.standards.air_stats import (
    POLLUTANTS,
    daily_means,
    hourly_from_minutes,
    is_valid,
    mda8_day,
    moving_means,
    period_means,
    realtime_indicators,
)
from ecobasin.standards.air_tables import (
    RULE_SETS,
    LevelInfo,
    RuleSet,
    composite_method,
    levels,
    limit,
    rule_set,
    rule_set_for_date,
    validity_rule,
)
from ecobasin.standards.rounding import round_gbt8170

__all__ = [
    "ANNUAL_STATISTICS",
    "INDICATOR_ORDER",
    "POLLUTANTS",
    "RULE_SETS",
    "AQIArrays",
    "Indicator",
    "LevelInfo",
    "RuleSet",
    "annual_statistics",
    "aqi_arrays",
    "aqi_level",
    "aqi_record",
    "attainment_rate",
    "city_daily",
    "city_ranking",
    "compliance",
    "composite_index",
    "composite_method",
    "daily_aqi",
    "daily_means",
    "exceed_multiple",
    "good_day_ratio",
    "grouped_percentile",
    "hourly_aqi",
    "hourly_from_minutes",
    "iaqi",
    "iaqi_array",
    "iaqi_value",
    "is_valid",
    "level_info",
    "levels",
    "limit",
    "local_day",
    "mda8_day",
    "moving_means",
    "percentile",
    "period_means",
    "rank_jointly",
    "realtime_indicators",
    "report_indicators",
    "round_gbt8170",
    "rule_set",
    "rule_set_for_date",
    "validity_rule",
]
