"""The surface-water assessment of a year, from observations to every result table (pure).

The kernels of :mod:`ecobasin.jobs.water_quality` (which reads the store, calls
:func:`compute_year` and writes), one module per rule family:

* :mod:`.means`: period means per section and item (环办〔2011〕22号 §一(二));
* :mod:`.sections`: section classes, status, determining items, main pollutants, CWQI, TLI,
  target met (GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一));
* :mod:`.groups`: rivers, basins, the region (mean method below 5 sections, class shares from
  5) and cities with their CWQI ranking (环办监测〔2017〕51号);
* :mod:`.compensation`: cross-boundary compensation by an agreement and the settlements.

No I/O and no clock: observations and sections come in as DataFrames, tables go out.
"""

from __future__ import annotations

import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.water_assessment.compensation import compensation_table, settlement_table
from ecobasin.standards.water_assessment.groups import GROUP_COLUMNS, group_table
from ecobasin.standards.water_assessment.means import (
    MANUAL_PERIOD,
    period_item_means,
    period_item_means_by_kind,
)
from ecobasin.standards.water_assessment.sections import TABLE_ITEMS, TLI_ITEMS, section_table

__all__ = [
    "GROUP_COLUMNS",
    "MANUAL_PERIOD",
    "TABLE_ITEMS",
    "TLI_ITEMS",
    "compensation_table",
    "compute_year",
    "group_table",
    "period_item_means",
    "period_item_means_by_kind",
    "section_table",
    "settlement_table",
]


def compute_year(
    obs: pd.DataFrame,
    sections: pd.DataFrame,
    region_id: str,
    agreement: water.Agreement | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every result table of one year from its observations.

    Parameters
    ----------
    obs : pandas.DataFrame
        Water observations of the year (site_id, parameter, period, time, value [mg/L], flag).
    sections : pandas.DataFrame
        The registered sections with their attributes.
    region_id : str
        ``scope_id`` of the region row.
    agreement : Agreement, optional
        Compensation rule set (default ``ecobasin-default``).

    Returns
    -------
    tuple
        The tables by name (``water_section_results``, ``water_group_results``,
        ``water_compensation``, ``water_settlements``; none when the year has no result) and
        the compensation months skipped for want of a factor.
    """
    sections_rows = []
    groups = []
    for kind, means in period_item_means_by_kind(obs).items():
        table = section_table(means, sections, kind)
        sections_rows.append(table)
        groups.append(group_table(table, sections, region_id, kind))
    if all(t.empty for t in sections_rows):
        return {}, []
    section_all = pd.concat([t for t in sections_rows if not t.empty], ignore_index=True)
    compensation, skipped = compensation_table(section_all, sections, agreement)
    return {
        "water_section_results": section_all,
        "water_group_results": pd.concat([g for g in groups if not g.empty], ignore_index=True),
        "water_compensation": compensation,
        "water_settlements": settlement_table(compensation),
    }, skipped
