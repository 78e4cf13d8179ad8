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


def synthetic(n: int = 150, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """X = G·F with 5 % multiplicative noise, and U = 5 % of X plus a detection floor."""
    rng = np.random.default_rng(seed)
    g = rng.gamma(2.0, 1.0, size=(n, 3))
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
