"""Over-limit, flag and silence alarms of monitored sites (pure engine, no I/O).

:func:`evaluate` turns observations, sites and limits into alarm episodes;
:mod:`ecobasin.alarms.limits` decides which emission limit applies (permit, else standard);
:func:`judge_latest` the latest over-limit picture of enterprise outlets;
the limits and rules themselves are data in ``catalog/data/emission/``
(:mod:`ecobasin.catalog.emission`). The shell around it is :mod:`ecobasin.jobs.alarms` (refresh
after writes) and :mod:`ecobasin.store.alarms` (SQL).
"""

from ecobasin.alarms.engine import (
    ALARM_COLUMNS,
    KINDS,
    alarm_id,
    basis_values,
    evaluate,
    flag_episodes,
    over_limit_episodes,
    silent_episodes,
)
from ecobasin.alarms.latest import judge_latest
from ecobasin.alarms.limits import applicable_limits, limits_at
from ecobasin.catalog.emission import AlarmRules, alarm_rules

__all__ = [
    "ALARM_COLUMNS",
    "KINDS",
    "AlarmRules",
    "alarm_id",
    "alarm_rules",
    "applicable_limits",
    "basis_values",
    "evaluate",
    "flag_episodes",
    "judge_latest",
    "limits_at",
    "over_limit_episodes",
    "silent_episodes",
]
