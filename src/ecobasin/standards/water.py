"""Surface-water standards engine: GB 3838-2002, the 2011 evaluation method, TLI, CWQI, compensation.

The public face of ``ecobasin.standards.water``; the implementation is split into

* :mod:`ecobasin.standards.water_tables`: rule data loaded from ``ecobasin/catalog/data/water``
  (GB 3838 Table 1 limits with river/lake TP columns, classes and colours, the method's rules,
  TLI coefficients, CWQI parameters, compensation agreements);
* :mod:`ecobasin.standards.water_class`: single-factor classes, section class, determining
  items and main pollutants (GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一));
* :mod:`ecobasin.standards.water_eval`: rivers and basins (mean method below 5 sections, class
  shares from 5), exceedance rates, trends, period statistics with validity;
* :mod:`ecobasin.standards.water_indices`: TLI(Σ) of lakes and reservoirs, CWQI and the city
  ranking (环办监测〔2017〕51号);
* :mod:`ecobasin.standards.water_compensation`: cross-boundary compensation by a versioned
  agreement, settlement tables.

Everything is pure (no I/O besides reading the packaged data) and vectorised over sections.

References
----------
.. [1] GB 3838-2002; 环办〔2011〕22号; 环办监测〔2017〕51号; GB/T 8170-2008.
"""

from ecobasin.standards.water_class import (
    STATUS_BY_CLASS,
    classify,
    display_pollutants,
    exceed_multiple,
    item_class,
    item_classes,
    lake_mask,
    main_pollutants,
    section_record,
)
from ecobasin.standards.water_compensation import (
    Agreement,
    agreement,
    compensate,
    fund_split,
    load_agreement,
    settlement,
    xinan_index,
)
from ecobasin.standards.water_eval import (
    apply_nondetects,
    class_shares,
    class_trend,
    evaluate_groups,
    exceedance_rates,
    period_means,
    river_record,
    share_status,
    statistics_rule,
    status_fields,
)
from ecobasin.standards.water_indices import (
    TLI_PARAMETERS,
    city_cwqi_from_lists,
    cwqi_change,
    cwqi_city,
    cwqi_items,
    cwqi_ranking,
    cwqi_section,
    ties,
    tli,
    tli_level,
    tli_weights,
)
from ecobasin.standards.water_tables import (
    CLASS_LABELS,
    EVALUATED_ITEMS,
    ItemLimits,
    WaterBody,
    WaterClass,
    class_info,
    class_label,
    class_number,
    cwqi_rules,
    evaluation_rules,
    item_limits,
    limit_of,
    normalise_water_body,
    tli_rules,
)

__all__ = [
    "CLASS_LABELS",
    "EVALUATED_ITEMS",
    "STATUS_BY_CLASS",
    "TLI_PARAMETERS",
    "Agreement",
    "ItemLimits",
    "WaterBody",
    "WaterClass",
    "agreement",
    "apply_nondetects",
    "city_cwqi_from_lists",
    "class_info",
    "class_label",
    "class_number",
    "class_shares",
    "class_trend",
    "classify",
    "compensate",
    "cwqi_change",
    "cwqi_city",
    "cwqi_items",
    "cwqi_ranking",
    "cwqi_rules",
    "cwqi_section",
    "display_pollutants",
    "evaluate_groups",
    "evaluation_rules",
    "exceed_multiple",
    "exceedance_rates",
    "fund_split",
    "item_class",
    "item_classes",
    "item_limits",
    "lake_mask",
    "limit_of",
    "load_agreement",
    "main_pollutants",
    "normalise_water_body",
    "period_means",
    "river_record",
    "section_record",
    "settlement",
    "share_status",
    "statistics_rule",
    "status_fields",
    "ties",
    "tli",
    "tli_level",
    "tli_rules",
    "tli_weights",
    "xinan_index",
]
