"""The AQI assessment of stations and cities, from hourly concentrations to stored rows (pure).

The kernels of :mod:`ecobasin.jobs.air_quality` (which reads the store, calls them per monthly
chunk and writes), one module per rule family:

* :mod:`.days`: CST days of hour-ending values and the HJ 633-2012 / HJ 633-2026 switch;
* :mod:`.plan`: the incremental rule, which keys touched site-days make stale;
* :mod:`.rows`: hourly (real-time report) and daily AQI rows of stations and cities
  (HJ 633-2012 §5.1.2-§5.1.3; HJ 633-2026 §4.2.1-§4.2.4; HJ 663-2013 §5-§6; GB 3095-2012
  Table 4).

No I/O and no clock: the time the rows were computed is an argument.
"""

from ecobasin.standards.air_assessment.days import SWITCH_DAY, cst_days, day_start_utc
from ecobasin.standards.air_assessment.plan import plan_refresh
from ecobasin.standards.air_assessment.rows import DAILY_COLUMNS, HOURLY_COLUMNS, compute_chunk

__all__ = [
    "DAILY_COLUMNS",
    "HOURLY_COLUMNS",
    "SWITCH_DAY",
    "compute_chunk",
    "cst_days",
    "day_start_utc",
    "plan_refresh",
]
