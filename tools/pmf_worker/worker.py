"""PMF worker (issue 19, brief ``../shared/reference/nonroad_and_source.md`` B7): runs US EPA's
ESAT (``esat.model.batch_sa.BatchSA``, LS-NMF) in its own virtual environment, files in and out.

    python worker.py IN_DIR OUT_DIR

IN_DIR holds ``X.csv`` (samples × species concentrations, first column the sample id),
``U.csv`` (the matching uncertainties) and ``params.json`` (``factors``, ``models``, ``seed``,
``method``, ``max_iter``, ``converge_delta``, ``converge_n``). OUT_DIR receives ``F.csv``
(factor profiles: factors × species), ``G.csv`` (contributions: samples × factors) and
``result.json`` (Q(true) and Q(robust) of every model, the model kept: the lowest Q(true), as the
brief asks; ESAT's version) and, when ``bootstrap_n`` > 0, ``bootstrap.csv``: ESAT's own block
bootstrap (``esat.error.bootstrap.Bootstrap``: blocks of ``block_size`` consecutive samples drawn
with replacement, each refit from the base solution's F, its factors mapped to the base factors by
the r² of their species totals ≥ ``bs_threshold``), summarised per base factor and species as the
5th, 50th and 95th percentiles of the mapped profiles (concentration, and share of the factor's
mass [1]); ``result.json`` then says how many bootstrap factors were mapped. It imports nothing of ecobasin: only the standard library, numpy,
pandas and esat of this environment. Exit status 0 on success, 2 on bad input, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any


def _run(in_dir: Path, out_dir: Path) -> dict[str, object]:
    import numpy as np
    import pandas as pd
    from esat.model.batch_sa import BatchSA

    params = json.loads((in_dir / "params.json").read_text(encoding="utf-8"))
    x = pd.read_csv(in_dir / "X.csv", index_col=0)
    u = pd.read_csv(in_dir / "U.csv", index_col=0)
    if x.shape != u.shape or list(x.columns) != list(u.columns):
        raise ValueError(f"X {x.shape} and U {u.shape} differ in shape or species")
    batch = BatchSA(
        V=x.to_numpy(dtype=float), U=u.to_numpy(dtype=float), factors=int(params["factors"]),
        models=int(params["models"]), method=str(params.get("method", "ls-nmf")),
        seed=int(params["seed"]), max_iter=int(params.get("max_iter", 20000)),
        converge_delta=float(params.get("converge_delta", 0.1)),
        converge_n=int(params.get("converge_n", 100)), best_robust=False, parallel=False,
        verbose=False,
    )  # fmt: skip
    batch.train()
    q_true = [float(r.Qtrue) if r is not None else float("nan") for r in batch.results]
    best = int(np.nanargmin(q_true))  # the lowest Q(true) of the seeds (B7)
    model = batch.results[best]
    names = [f"factor{k + 1}" for k in range(int(params["factors"]))]
    pd.DataFrame(model.H, index=names, columns=x.columns).to_csv(out_dir / "F.csv")
    pd.DataFrame(model.W, index=x.index, columns=names).to_csv(out_dir / "G.csv")
    summary = _bootstrap(model, params, list(x.columns), best, names, out_dir)
    return {
        "bootstrap": summary,
        "esat_version": version("esat"), "best_model": best, "q_true": q_true[best],
        "q_robust": float(model.Qrobust), "converged": bool(model.converged),
        "models_q_true": q_true,
        "models_q_robust": [float(r.Qrobust) if r is not None else None for r in batch.results],
    }  # fmt: skip


def _bootstrap(
    model: Any,
    params: dict[str, Any],
    species: list[str],
    best: int,
    names: list[str],
    out_dir: Path,
) -> dict[str, Any] | None:
    """ESAT's block bootstrap of the kept model (B7: BS); the intervals per base factor."""
    runs = int(params.get("bootstrap_n", 0))
    if runs <= 0:
        return None
    import numpy as np
    import pandas as pd
    from esat.error.bootstrap import Bootstrap

    block = int(params.get("block_size", 10))
    threshold = float(params.get("bs_threshold", 0.6))
    boot = Bootstrap(sa=model, feature_labels=species, model_selected=best, bootstrap_n=runs,
                     block_size=block, threshold=threshold, parallel=False,
                     seed=int(params["seed"]))  # fmt: skip
    boot.run(keep_H=True, reuse_seed=True, block=True)
    mapped: dict[int, list[Any]] = {k: [] for k in range(len(names))}
    unmapped = 0
    for run in boot.bs_results.values():
        for bs_factor, link in run["mapping"].items():
            if link["mapped"]:
                mapped[int(link["match"])].append(run["model"].H[bs_factor])
            else:
                unmapped += 1
    rows = []
    for base, profiles in mapped.items():
        if not profiles:
            continue
        f = np.array(profiles, dtype=float)
        share = f / f.sum(axis=1, keepdims=True)
        for what, values in (("concentration", f), ("share", share)):
            low, mid, high = np.percentile(values, [5, 50, 95], axis=0)
            for j, name in enumerate(species):
                rows.append({"factor": names[base], "species": name, "measure": what,
                             "p05": low[j], "p50": mid[j], "p95": high[j],
                             "mapped": len(profiles)})  # fmt: skip
    pd.DataFrame(rows).to_csv(out_dir / "bootstrap.csv", index=False)
    total = runs * len(names)
    return {
        "runs": runs, "block_size": block, "r2_threshold": threshold,
        "mapped_share": (total - unmapped) / total,
        "mapped_per_factor": {names[k]: len(v) for k, v in mapped.items()},
    }  # fmt: skip


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: worker.py IN_DIR OUT_DIR", file=sys.stderr)
        return 2
    in_dir, out_dir = Path(argv[0]), Path(argv[1])
    try:
        result = _run(in_dir, out_dir)
    except (OSError, ValueError, KeyError) as error:
        print(f"pmf worker: bad input: {error}", file=sys.stderr)
        return 2
    (out_dir / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
