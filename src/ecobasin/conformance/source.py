"""Source-analysis conformance kinds: percentile_type7, wd_sector_round, pollution_rose,
cpf_sector, cbpf_bins, cbpf_interval, polar_bin_weights, polar_sqrt_transform, polar_uv,
pscf_cells, cwt_cells, pmf_q, pmf_q_expected, pmf_uncertainty, pmf_signal_to_noise.

Shapes: ``../shared/testdata/source/source_cases_public.jsonl`` (brief
``../shared/reference/nonroad_and_source.md`` Part B). Sectors and speed bins may be written
out (``"N=(315,45], E=(45,135]"``, ``"[0,3),[3,6)"``); each handler parses them and calls
:mod:`ecobasin.sources`. Nothing is read from ``expect``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecobasin.conformance.registry import number, register
from ecobasin.sources import directional as dr
from ecobasin.sources import receptor as rc

__all__: list[str] = []


def _sectors(inp: dict[str, Any], default: float) -> dr.Sectors | float:
    parsed = dr.parse_sectors(inp.get("sectors", inp.get("angle")))
    return default if parsed is None else parsed


def _table(frame: Any, column: str) -> dict[str, Any]:
    return {str(k): number(v) for k, v in frame[column].items()}


@register("percentile_type7")
def _percentile(inp: dict[str, Any]) -> dict[str, Any]:
    return {"result": [number(v) for v in dr.percentile_type7(inp["values"], inp["p"])]}


@register("wd_sector_round")
def _sector_round(inp: dict[str, Any]) -> dict[str, Any]:
    return {"sector": [number(v) for v in dr.sector_of(inp["wd"], float(inp.get("angle", 10)))]}


@register("pollution_rose")
def _rose(inp: dict[str, Any]) -> dict[str, Any]:
    table = dr.pollution_rose(inp["wd"], inp["conc"], _sectors(inp, 30.0))
    return {
        "n": _table(table, "n"),
        "prop_count_pct": _table(table, "prop_count_pct"),
        "prop_mean_pct": _table(table, "prop_mean_pct"),
        "total": number(float(np.nansum(np.asarray(inp["conc"], dtype=float)))),
    }


@register("cpf_sector")
def _cpf(inp: dict[str, Any]) -> dict[str, Any]:
    threshold, table, calm = dr.cpf(
        inp["wd"], inp["conc"], float(inp.get("percentile", 75)), _sectors(inp, 10.0),
        ws=inp.get("ws"), calm_ws=float(inp.get("calm_ws", 0.5)), min_n=int(inp.get("min_n", 1)),
    )  # fmt: skip
    return {
        "threshold": number(threshold),
        "n": _table(table, "n"),
        "m": _table(table, "m"),
        "cpf": _table(table, "cpf"),
        "calm_share": number(calm),
    }


def _cbpf(inp: dict[str, Any]) -> dict[str, Any]:
    rows = np.asarray(inp["obs_wd_ws_conc"], dtype=float)
    edges = dr.parse_edges(inp.get("ws_bins", "[0,3),[3,6)"))
    sectors = dr.parse_sectors(inp.get("sectors", inp.get("angle")))
    (low, high), table = dr.cbpf(
        rows[:, 0], rows[:, 1], rows[:, 2], inp.get("percentile", 75), edges, sectors
    )
    out = {"cbpf": _table(table, "cbpf"), "n": _table(table, "n"), "m": _table(table, "m")}
    if high is None:
        return {"threshold": number(low), **out}
    return {"p_low": number(low), "p_high": number(high), **out}


register("cbpf_bins")(_cbpf)
register("cbpf_interval")(_cbpf)


@register("polar_bin_weights")
def _bin_weights(inp: dict[str, Any]) -> dict[str, Any]:
    weights = inp.get("weights", (0.25, 0.5, 0.75))
    return {"gam_weight": dr.bin_weights(inp["bin_counts"], weights, int(inp.get("min_bin", 1)))}


@register("polar_sqrt_transform")
def _sqrt(inp: dict[str, Any]) -> dict[str, Any]:
    positive = bool(inp.get("force_positive", True))
    return {
        "fitted_response": dr.sqrt_response(inp["bin_means"], positive),
        "back_transform": "square of prediction" if positive else "identity",
    }


@register("polar_uv")
def _uv(inp: dict[str, Any]) -> dict[str, Any]:
    pairs = np.asarray(inp["ws_wd"], dtype=float)
    return {"u_v": [[number(u), number(v)] for u, v in dr.wind_uv(pairs[:, 0], pairs[:, 1])]}


def _cells(table: Any, columns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {str(cell): {c: number(row[c]) for c in columns} for cell, row in table.iterrows()}


@register("pscf_cells")
def _pscf(inp: dict[str, Any]) -> dict[str, Any]:
    threshold, mean_n, table = rc.pscf(inp["cells_endpoint_conc"], float(inp.get("percentile", 90)))
    return {
        "threshold": number(threshold),
        "mean_N": number(mean_n),
        "cells": _cells(table, ("N", "m", "pscf", "w", "wpscf")),
    }


@register("cwt_cells")
def _cwt(inp: dict[str, Any]) -> dict[str, Any]:
    return {"cells": _cells(rc.cwt(inp["cells_endpoint_conc"]), ("N", "cwt", "w", "wcwt"))}


@register("pmf_q")
def _pmf_q(inp: dict[str, Any]) -> dict[str, Any]:
    fitted, residual, q = rc.pmf_q(inp["X"], inp["G"], inp["F"], inp["U"])
    return {"GF": fitted.tolist(), "residual": residual.tolist(), "Q": number(q)}


@register("pmf_q_expected")
def _pmf_q_expected(inp: dict[str, Any]) -> dict[str, Any]:
    q = rc.pmf_q_expected(
        int(inp["n_samples"]), int(inp["n_species"]), int(inp["p_factors"]),
        int(inp.get("weak_species", 0)),
    )  # fmt: skip
    return {"Q_exp": q}


@register("pmf_uncertainty")
def _pmf_uncertainty(inp: dict[str, Any]) -> dict[str, Any]:
    rows = np.asarray(inp["conc_mdl_errorfraction"], dtype=float)
    return {"unc": [number(v) for v in rc.pmf_uncertainty(rows[:, 0], rows[:, 1], rows[:, 2])]}


@register("pmf_signal_to_noise")
def _pmf_sn(inp: dict[str, Any]) -> dict[str, Any]:
    d, sn, category = rc.signal_to_noise(inp["x"], inp["u"])
    return {"d": [number(v) for v in d], "sn": number(sn), "category": category}
