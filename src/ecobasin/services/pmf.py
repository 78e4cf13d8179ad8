"""PMF receptor model through US EPA's ESAT in a worker environment (issue 19, brief
``../shared/reference/nonroad_and_source.md`` B7), for ``ecobasin sources pmf-setup|pmf``.

ESAT pins versions that conflict with ecobasin's, so it runs in a virtual environment of its
own (``tools/pmf_worker/``: ``requirements.txt`` and ``worker.py``), created under the data
folder by :func:`setup_worker` and called as a subprocess with files in and out.

Before the worker runs, X (samples × species) and U are validated here: the same samples and
species, finite, X ≥ 0 and U > 0; each species' signal-to-noise and category (B7: "bad" below 0.5
is dropped, "weak" below 1 has its uncertainty tripled). The worker fits ``models`` seeds (≥ 20
advised) and keeps the lowest Q(true); Q is checked here against the core's
:func:`~ecobasin.sources.receptor.pmf_q` on the returned G and F, and Q_expected =
n·m − p·(n + m) with m the strong species.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.errors import InputError, NotFound
from ecobasin.settings import Settings
from ecobasin.sources import pmf_plots
from ecobasin.sources.receptor import pmf_q, pmf_q_expected, signal_to_noise
from ecobasin.store import sources as records
from ecobasin.store.database import Store

__all__ = [
    "FACTOR_CAPTION",
    "RUN_COLUMNS",
    "PmfResult",
    "WorkerMissing",
    "latest_run",
    "pmf_plot",
    "prepare",
    "run_pmf",
    "runs",
    "save_run",
    "setup_worker",
    "stored_run",
    "worker_dir",
    "worker_env",
    "worker_python",
]

#: the words beside every PMF result: factors are statistical, named by the analyst
FACTOR_CAPTION = pmf_plots.FACTOR_CAPTION
#: the columns of a run list (CLI ``sources pmf-runs`` and the API's list)
RUN_COLUMNS = records.PMF_SUMMARY
#: a bootstrap factor maps to the base factor whose species totals it matches with r² ≥ this
#: [1] (ESAT's default, as PMF5's minimum correlation R = 0.6 is the practice the brief cites)
BS_R2 = 0.6
#: the longest a worker may run [s] (20 seeds on a few hundred samples take minutes)
WORKER_TIMEOUT_S = 3600


class WorkerMissing(InputError):
    """The worker environment does not exist yet."""


def worker_dir() -> Path:
    """``tools/pmf_worker`` of the checkout (``ECOBASIN_PMF_WORKER_DIR`` overrides)."""
    override = os.environ.get("ECOBASIN_PMF_WORKER_DIR")
    return (
        Path(override) if override else Path(__file__).resolve().parents[3] / "tools" / "pmf_worker"
    )


def worker_env(settings: Settings, env: Path | None = None) -> Path:
    """The worker's virtual environment: ``env``, else ``ECOBASIN_PMF_ENV``, else
    ``pmf_worker_env`` beside the database file (the data folder)."""
    if env is not None:
        return env
    override = os.environ.get("ECOBASIN_PMF_ENV")
    return Path(override) if override else Path(settings.db).resolve().parent / "pmf_worker_env"


def worker_python(env: Path) -> Path:
    """The environment's interpreter; :class:`WorkerMissing` naming the command that makes it."""
    python = env / "bin" / "python"
    if not python.exists():
        raise WorkerMissing(
            f"the PMF worker environment is missing at {env}: run `ecobasin sources pmf-setup` "
            "(it installs ESAT from tools/pmf_worker/requirements.txt) 未找到 PMF 工作环境"
        )
    return python


def setup_worker(env: Path, python: str = sys.executable) -> list[list[str]]:
    """Create the worker environment at ``env`` and install ``requirements.txt`` into it (from
    the package registry pip is configured with); returns the commands run."""
    requirements = worker_dir() / "requirements.txt"
    if not requirements.exists():
        raise InputError(f"no worker requirements at {requirements} (ECOBASIN_PMF_WORKER_DIR)")
    commands = [
        [python, "-m", "venv", str(env)],
        [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
    ]
    for command in commands:
        subprocess.run(command, check=True)
    return commands


@dataclass(frozen=True)
class PmfResult:
    """A PMF solution: profiles F (factors × species), contributions G (samples × factors),
    Q(true), Q(robust), Q_expected, every seed's Q(true), the species' S/N and categories."""

    profiles: pd.DataFrame
    contributions: pd.DataFrame
    q_true: float
    q_robust: float
    q_expected: int
    models_q_true: list[float]
    species: pd.DataFrame
    esat_version: str
    #: ESAT's block bootstrap (B7: BS): runs, block_size, r2_threshold, mapped_share [1],
    #: mapped_per_factor; None when not asked for
    bootstrap: dict[str, Any] | None = None
    #: factor, species, measure (concentration | share [1]), p05, p50, p95, mapped
    bootstrap_intervals: pd.DataFrame | None = None


def prepare(x: pd.DataFrame, u: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Validate X and U (B7) and apply the categories: (X, U, species table: S/N, category).
    Bad species are dropped, weak ones get U × 3."""
    if list(x.index) != list(u.index) or list(x.columns) != list(u.columns):
        raise InputError("X and U must have the same samples (rows) and species (columns)")
    xa, ua = x.to_numpy(dtype=float), u.to_numpy(dtype=float)
    problems = [("X", ~np.isfinite(xa) | (xa < 0), "not finite or negative"),
                ("U", ~np.isfinite(ua) | (ua <= 0), "not finite or not positive")]  # fmt: skip
    for name, bad, why in problems:
        if bad.any():
            row, col = (int(i[0]) for i in np.nonzero(bad))
            raise InputError(f"{name} sample {x.index[row]!r} species {x.columns[col]!r}: {why} "
                             f"({int(bad.sum())} values)")  # fmt: skip
    rows = []
    for species in x.columns:
        _, sn, category = signal_to_noise(x[species].tolist(), u[species].tolist())
        rows.append({"species": species, "signal_to_noise": sn, "category": category})
    table = pd.DataFrame(rows).set_index("species")
    kept = table.index[table["category"] != "bad"]
    if len(kept) < 2:
        raise InputError("fewer than two species have a signal-to-noise of at least 0.5")
    weak = table.index[table["category"] == "weak"]
    u = u.astype(float).copy()
    u[weak] = u[weak] * 3.0
    return x[kept].astype(float), u[kept], table


def _write_inputs(folder: Path, x: pd.DataFrame, u: pd.DataFrame, params: dict[str, Any]) -> None:
    x.to_csv(folder / "X.csv")
    u.to_csv(folder / "U.csv")
    (folder / "params.json").write_text(json.dumps(params), encoding="utf-8")


def run_pmf(
    env: Path,
    x: pd.DataFrame,
    u: pd.DataFrame,
    *,
    factors: int,
    models: int = 20,
    seed: int = 42,
    bootstrap_n: int = 0,
    block_size: int = 10,
    timeout_s: float = WORKER_TIMEOUT_S,
) -> PmfResult:
    """Fit PMF with ``factors`` factors over ``models`` seeds in the worker; the lowest Q(true).
    With ``bootstrap_n`` > 0, ESAT's block bootstrap (blocks of ``block_size`` consecutive
    samples) maps each refit's factors to the kept solution's and gives the profile intervals."""
    if bootstrap_n > 0 and not 1 <= block_size <= len(x) // 2:
        raise InputError(f"bootstrap block size {block_size}: between 1 and {len(x) // 2} samples")
    if not 1 <= factors < min(x.shape):
        raise InputError(f"{factors} factors: between 1 and {min(x.shape) - 1} for X {x.shape}")
    python = worker_python(env)
    x, u, species = prepare(x, u)
    params = {"factors": factors, "models": models, "seed": seed, "method": "ls-nmf",
              "bootstrap_n": bootstrap_n, "block_size": block_size, "bs_threshold": BS_R2}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ecobasin-pmf-") as tmp:  # private: mode 0700
        folder = Path(tmp)
        (folder / "out").mkdir()
        _write_inputs(folder, x, u, params)
        done = subprocess.run(
            [str(python), str(worker_dir() / "worker.py"), str(folder), str(folder / "out")],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise InputError(f"the PMF worker failed (exit {done.returncode}): {' | '.join(tail)}")
        result = json.loads((folder / "out" / "result.json").read_text(encoding="utf-8"))
        profiles = pd.read_csv(folder / "out" / "F.csv", index_col=0)
        contributions = pd.read_csv(folder / "out" / "G.csv", index_col=0)
        intervals_file = folder / "out" / "bootstrap.csv"
        intervals = pd.read_csv(intervals_file) if intervals_file.exists() else None
    _, _, q = pmf_q(x.to_numpy(), contributions.to_numpy(), profiles.to_numpy(), u.to_numpy())
    weak = int((species["category"] == "weak").sum())
    return PmfResult(
        profiles=profiles, contributions=contributions, q_true=q,
        q_robust=float(result["q_robust"]),
        q_expected=pmf_q_expected(len(x), x.shape[1], factors, weak),
        models_q_true=[float(v) for v in result["models_q_true"]], species=species,
        esat_version=str(result["esat_version"]), bootstrap=result.get("bootstrap"),
        bootstrap_intervals=intervals,
    )  # fmt: skip


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def save_run(
    store: Store,
    site_id: str,
    result: PmfResult,
    *,
    models: int,
    seed: int,
    by: str,
    at: datetime,
) -> str:
    """Store a PMF solution of ``site_id`` (its period: the first and last sample ids, in the
    order given); returns the run id. The site must exist."""
    if store.sites(site_ids=[site_id]).empty:
        raise NotFound(f"no site {site_id} 无此站点")
    samples = [str(s) for s in result.contributions.index]
    bootstrap = None
    if result.bootstrap is not None and result.bootstrap_intervals is not None:
        bootstrap = dict(result.bootstrap, intervals=result.bootstrap_intervals.to_dict("records"))
    run_id = uuid.uuid4().hex
    records.store_pmf_run(store, {
        "run_id": run_id, "site_id": site_id, "first_sample": samples[0],
        "last_sample": samples[-1], "samples": len(samples), "factors": len(result.profiles),
        "models": models, "seed": seed, "q_true": result.q_true, "q_robust": result.q_robust,
        "q_expected": result.q_expected, "esat_version": result.esat_version,
        "created_by": by, "created_at": at,
        "species": result.species.reset_index().to_dict("records"),
        "models_q_true": [_finite(q) for q in result.models_q_true],
        "profiles": result.profiles.to_dict("index"),
        "contributions": {str(k): v for k, v in result.contributions.to_dict("index").items()},
        "bootstrap": bootstrap,
    })  # fmt: skip
    return run_id


def runs(store: Store, site_id: str) -> list[dict[str, Any]]:
    """The site's stored PMF runs, newest first (no matrices)."""
    return records.pmf_runs(store, site_id)


def stored_run(store: Store, site_id: str, run_id: str) -> dict[str, Any]:
    """One stored run with its profiles, contributions and bootstrap; :class:`NotFound` else."""
    run = records.pmf_run(store, site_id, run_id)
    if run is None:
        raise NotFound(f"no PMF run {run_id} at site {site_id} 无此 PMF 结果")
    return run


def latest_run(store: Store, site_id: str) -> dict[str, Any] | None:
    """The site's newest stored run in full, or None."""
    listed = records.pmf_runs(store, site_id, limit=1)
    return stored_run(store, site_id, listed[0]["run_id"]) if listed else None


def pmf_plot(run: dict[str, Any], kind: str, fmt: str) -> bytes:
    """``profiles`` or ``contributions`` of a stored run as ``png`` or ``svg`` bytes."""
    if kind not in ("profiles", "contributions"):
        raise InputError(f"PMF plot {kind!r}: profiles or contributions")
    profiles = pd.DataFrame.from_dict(run["profiles"], orient="index")
    contributions = pd.DataFrame.from_dict(run["contributions"], orient="index")
    title = f"{run['site_id']} · PMF {run['factors']} factors 因子 · {run['created_at']:%Y-%m-%d}"
    if kind == "profiles":
        return pmf_plots.pmf_profiles_figure(profiles, contributions, title=title, fmt=fmt)
    return pmf_plots.pmf_contributions_figure(contributions, profiles, title=title, fmt=fmt)
