"""Section results of a period (GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一)).

Class by the single-factor method, status and colour, determining items, main pollutants,
CWQI (环办监测〔2017〕51号), TLI(Σ) for lakes and reservoirs, TN and fecal-coliform classes,
whether the target class is met.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards import water

__all__ = ["TABLE_ITEMS", "TLI_ITEMS", "section_table"]

#: Items of a section row's means: the 21 evaluated items, TN and fecal coliforms.
TABLE_ITEMS: tuple[str, ...] = (*water.EVALUATED_ITEMS, "TN", "FC")
#: Items of TLI(Σ) (chlorophyll a, TP, TN, Secchi depth, CODMn).
TLI_ITEMS = ("Chla", "TP", "TN", "SD", "CODMn")


def _wide(means: pd.DataFrame) -> pd.DataFrame:
    return means.pivot_table(index=["site_id", "period"], columns="item", values="mean")


def _target(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    return water.class_number(value)


def section_table(means: pd.DataFrame, sections: pd.DataFrame, period_kind: str) -> pd.DataFrame:
    """Section results of every (section, period) with means, as rows of
    ``water_section_results`` (JSON columns as dicts/lists).

    Parameters
    ----------
    means : pandas.DataFrame
        Output of :func:`period_item_means`.
    sections : pandas.DataFrame
        :func:`ecobasin.store.water.water_sections` (``site_id``, ``water_body``,
        ``target_class``).

    References
    ----------
    .. [1] GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一); 环办监测〔2017〕51号; 办法 附件 (TLI).
    """
    if means.empty:
        return pd.DataFrame()
    wide = _wide(means)
    info = sections.set_index("site_id").reindex(wide.index.get_level_values("site_id"))
    water_body = [water.normalise_water_body(w) for w in info["water_body"].fillna("river")]
    items = [c for c in wide.columns if c in TABLE_ITEMS]
    conc = wide[items]
    evaluated = [c for c in items if c in water.EVALUATED_ITEMS]
    classes = water.classify(conc, water_body)
    picks = water.main_pollutants(conc[evaluated], water_body) if evaluated else None
    cwqi = water.cwqi_section(conc[evaluated], water_body) if evaluated else None
    targets = [_target(t) for t in info["target_class"]]
    source = means.pivot_table(
        index=["site_id", "period"], columns="item", values="source", aggfunc="first"
    ).reindex(wide.index)
    complete = means.groupby(["site_id", "period"])["complete"].all().reindex(wide.index)
    # plain Python lists: a loop over pandas rows (iloc) costs more than the engine itself
    cls = classes["class_num"].astype(int).tolist()
    status = classes["status_num"].astype(int).tolist()
    labels = classes["class"].tolist()
    determining: list[list[str]] = classes["determining"].tolist()
    n_items = classes["n_items"].astype(int).tolist()
    whole = complete.tolist()
    tn, fc = (_apart_list(classes, f"{k}_class") for k in ("TN", "FC"))
    all_means = _non_missing(wide)
    all_sources = _non_missing(source)
    cwqis = [None] * len(wide) if cwqi is None else [_num(v) for v in cwqi.tolist()]
    pick_lists = [[] for _ in range(len(wide))] if picks is None else picks.tolist()
    rows = []
    for i, (site_id, period) in enumerate(wide.index):
        target = targets[i]
        row_means = all_means[i]
        rows.append(
            {
                "site_id": site_id,
                "period": period,
                "period_kind": period_kind,
                "water_body": water_body[i],
                "target_class": target,
                "class_num": cls[i],
                "class": labels[i] or None,
                "status_num": status[i] or None,
                "meets_target": None if target is None or cls[i] == 0 else cls[i] <= target,
                "determining": ",".join(determining[i]),
                "main_pollutants": pick_lists[i],
                "main_display": ",".join(water.display_pollutants(pick_lists[i])),
                "cwqi": cwqis[i],
                "tli": _tli(row_means) if water_body[i] == "lake" else None,
                "tn_class": tn[i],
                "fc_class": fc[i],
                "means": row_means,
                "sources": {k: str(v) for k, v in all_sources[i].items()},
                "n_items": n_items[i],
                "complete": bool(whole[i]),
            }
        )
    return pd.DataFrame(rows)


def _non_missing(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row as a dict of its non-missing cells, in column order."""
    columns = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=object)
    missing = frame.isna().to_numpy()
    return [
        {c: _plain_cell(v) for c, v, gone in zip(columns, row, lost, strict=True) if not gone}
        for row, lost in zip(values, missing, strict=True)
    ]


def _plain_cell(value: Any) -> Any:
    return float(value) if isinstance(value, float | np.floating) else value


def _apart_list(classes: pd.DataFrame, column: str) -> list[int | None]:
    if column not in classes.columns:
        return [None] * len(classes)
    return [int(v) or None for v in classes[column].tolist()]


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _tli(means: dict[str, float]) -> float | None:
    """TLI(Σ) over the trophic items measured (办法 附件), None without Chl-a."""
    if "Chla" not in means:
        return None
    given = {k.lower() if k != "Chla" else "chla": means[k] for k in TLI_ITEMS if k in means}
    frame = water.tli(**given)
    return _num(frame["TLI"].iloc[0])
