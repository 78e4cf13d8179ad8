"""PMF through US EPA's ESAT in its own worker environment (issue 19, B7): X and U validated and
categorised before the worker runs; a missing environment named with the command that makes it;
and, in the environment ``ecobasin sources pmf-setup`` made (``.ci/run`` makes it), the factor
profiles of a synthetic data set with three known factors recovered within a tolerance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.errors import InputError
from ecobasin.services import pmf
from needs import require

ROOT = Path(__file__).resolve().parents[2]
SPECIES = ["SO4", "NO3", "NH4", "OC", "EC", "K", "Si", "Fe", "Zn", "Cl"]
#: three sources with distinct markers (sulfate, traffic, dust) [share of mass per species]
PROFILES = np.array([
    [6.0, 0.5, 2.5, 1.0, 0.1, 0.1, 0.1, 0.1, 0.05, 0.3],  # secondary sulfate: SO4, NH4
    [0.3, 1.5, 0.4, 4.0, 2.5, 0.3, 0.2, 0.4, 0.6, 0.1],   # vehicles: OC, EC, Zn
    [0.2, 0.1, 0.05, 0.8, 0.2, 0.6, 5.0, 3.0, 0.1, 0.4],  # dust: Si, Fe
])  # fmt: skip


def synthetic(n: int = 150, seed: int = 7, shape: float = 2.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """X = G·F with 5 % multiplicative noise, and U = 5 % of X plus a detection floor; G drawn
    from a gamma of this ``shape`` (1 gives days with a source nearly off, which pin the rotation)."""
    rng = np.random.default_rng(seed)
    g = rng.gamma(shape, 1.0, size=(n, 3))
    x = g @ PROFILES * rng.normal(1.0, 0.05, size=(n, len(SPECIES))).clip(0.8, 1.2)
    u = 0.05 * x + 0.02
    index = pd.Index([f"s{i:03d}" for i in range(n)], name="sample")
    return pd.DataFrame(x, index, SPECIES), pd.DataFrame(u, index, SPECIES)


def test_x_and_u_are_validated_and_categorised() -> None:
    x, u = synthetic(30)
    bad = x.copy()
    bad.iloc[3, 2] = -1.0
    with pytest.raises(InputError, match=r"X sample 's003' species 'NH4': not finite or negative"):
        pmf.prepare(bad, u)
    with pytest.raises(InputError, match="same samples"):
        pmf.prepare(x, u.iloc[:-1])
    noisy = u.copy()
    noisy["Cl"] = x["Cl"] * 10  # S/N 0: bad, dropped
    noisy["Zn"] = x["Zn"] / 1.6  # d = 0.6: weak, U tripled
    kept_x, kept_u, species = pmf.prepare(x, noisy)
    assert species.loc["Cl", "category"] == "bad" and "Cl" not in kept_x.columns
    assert species.loc["Zn", "category"] == "weak"
    assert np.allclose(kept_u["Zn"], noisy["Zn"] * 3)


def test_a_missing_worker_environment_is_named(tmp_path: Path) -> None:
    x, u = synthetic(30)
    with pytest.raises(pmf.WorkerMissing, match="ecobasin sources pmf-setup"):
        pmf.run_pmf(tmp_path / "none", x, u, factors=3)
    x.to_csv(tmp_path / "X.csv")
    u.to_csv(tmp_path / "U.csv")
    result = CliRunner().invoke(cli_app, [
        "sources", "pmf", str(tmp_path / "X.csv"), str(tmp_path / "U.csv"), "--factors", "3",
        "--env", str(tmp_path / "none"),
    ])  # fmt: skip
    assert result.exit_code == 1 and "pmf-setup" in result.output


@pytest.mark.slow  # 20 seeds of ESAT in a subprocess
def test_esat_recovers_the_known_factor_profiles(tmp_path: Path) -> None:
    env = Path(os.environ.get("ECOBASIN_PMF_ENV", ROOT / ".pmf-env"))
    require(env / "bin" / "python", "the PMF worker environment",
            "`ecobasin sources pmf-setup --env .pmf-env`, as .ci/run does")  # fmt: skip
    x, u = synthetic()
    result = pmf.run_pmf(env, x, u, factors=3, models=20, seed=42)
    assert len(result.models_q_true) == 20
    assert result.q_true == pytest.approx(min(result.models_q_true), rel=1e-6)  # the lowest Q
    found = result.profiles.to_numpy()
    truth = PROFILES / PROFILES.sum(axis=1, keepdims=True)
    shares = found / found.sum(axis=1, keepdims=True)
    corr = np.corrcoef(truth, shares)[:3, 3:]
    rows, cols = linear_sum_assignment(-corr)
    assert corr[rows, cols].min() > 0.98
    assert np.abs(truth[rows] - shares[cols]).max() < 0.05  # each species' share of a profile
    assert result.q_expected == 150 * 10 - 3 * (150 + 10)


#: the three sources with their markers exclusive (zeros where another source's markers are), so
#: the solution has no rotational freedom left for a bootstrap to miss (B7: BS shows the effect of
#: samples, DISP the rotation) [share of mass per species]
PURE_PROFILES = PROFILES * np.array([
    [1, 1, 1, 1, 0, 1, 0, 0, 0, 1],
    [0, 1, 0, 1, 1, 1, 0, 1, 1, 1],
    [0, 0, 0, 1, 0, 1, 1, 1, 0, 1],
])  # fmt: skip


def synthetic_pure(n: int = 200, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """X = G·F + E with E ~ N(0, U) and U = 5 % of G·F plus a detection floor (the error model
    the fit assumes); G from a gamma of shape 1, so some days have a source nearly off."""
    rng = np.random.default_rng(seed)
    true = rng.gamma(1.0, 1.0, size=(n, 3)) @ PURE_PROFILES
    u = 0.05 * true + 0.02
    x = (true + rng.normal(0.0, 1.0, size=true.shape) * u).clip(0.0)
    index = pd.Index([f"s{i:03d}" for i in range(n)], name="sample")
    return pd.DataFrame(x, index, SPECIES), pd.DataFrame(u, index, SPECIES)


@pytest.mark.slow  # 20 seeds and 30 bootstrap refits of ESAT in a subprocess
def test_the_bootstrap_maps_its_factors_and_its_intervals_hold_the_known_profiles() -> None:
    env = Path(os.environ.get("ECOBASIN_PMF_ENV", ROOT / ".pmf-env"))
    require(env / "bin" / "python", "the PMF worker environment",
            "`ecobasin sources pmf-setup --env .pmf-env`, as .ci/run does")  # fmt: skip
    x, u = synthetic_pure()
    result = pmf.run_pmf(env, x, u, factors=3, models=20, seed=42, bootstrap_n=30, block_size=10)
    assert result.bootstrap is not None and result.bootstrap_intervals is not None
    assert result.bootstrap["runs"] == 30 and result.bootstrap["block_size"] == 10
    assert result.bootstrap["mapped_share"] >= 0.9
    shares = result.bootstrap_intervals.query("measure == 'share'")
    low = shares.pivot(index="factor", columns="species", values="p05")[SPECIES].to_numpy()
    high = shares.pivot(index="factor", columns="species", values="p95")[SPECIES].to_numpy()
    middle = shares.pivot(index="factor", columns="species", values="p50")[SPECIES].to_numpy()
    truth = PURE_PROFILES / PURE_PROFILES.sum(axis=1, keepdims=True)
    rows, cols = linear_sum_assignment(-np.corrcoef(truth, middle)[:3, 3:])
    assert (high[cols] - low[cols]).max() > 0.005  # the refits do differ: real intervals
    # every known share inside its 5th–95th percentile interval, within 1 % of a profile's mass
    # (the order of the fit's own bias on 200 noisy samples)
    assert (truth[rows] >= low[cols] - 0.01).all() and (truth[rows] <= high[cols] + 0.01).all()
