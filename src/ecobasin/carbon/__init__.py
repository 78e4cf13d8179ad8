"""Carbon 碳: factor library, city inventory, sinks and peak tracking (pure core, no I/O).

* :mod:`ecobasin.carbon.factors` — factors as versioned data, exact decimals, pint units;
* :mod:`ecobasin.carbon.inventory` — per-line emissions, GWP sets, GPC totals;
* :mod:`ecobasin.carbon.sinks` — forest stock difference and gain-loss, area × rate;
* :mod:`ecobasin.carbon.peak` — intensity, targets, peak/plateau, LMDI decomposition;
* :mod:`ecobasin.carbon.quantify` — behaviour and project reduction formulas.
"""
