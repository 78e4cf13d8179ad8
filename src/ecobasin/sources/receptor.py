"""Regional transport from back-trajectories (PSCF, CWT) and the PMF receptor model's sums.

Brief ``../shared/reference/nonroad_and_source.md`` B6 (PSCF: Ashbaugh et al. 1985; CWT: Hsu,
Holsen & Hopke 2003, Atmos. Environ. 37:545; the cell weights as tables) and B7 (PMF: Paatero &
Tapper 1994, Environmetrics 5:111; the EPA PMF 5 user guide's uncertainty and signal-to-noise;
ESAT's data handler). Each trajectory endpoint in a cell carries the receptor concentration of
its arrival time; thresholds are strict ">" (B1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecobasin.errors import InputError
from ecobasin.sources.directional import percentile_type7

__all__ = [
    "CWT_WEIGHTS",
    "PSCF_WEIGHTS",
    "StepWeights",
    "cwt",
    "pmf_q",
    "pmf_q_expected",
    "pmf_uncertainty",
    "pscf",
    "signal_to_noise",
]


@dataclass(frozen=True)
class StepWeights:
    """A weight table: the weight of the first step whose bound the count exceeds (N > bound),
    else ``floor``. ``relative`` bounds are multiples of the mean count over cells."""

    steps: tuple[tuple[float, float], ...]  # (bound, weight), the highest bound first
    floor: float
    relative: bool

    def weight(self, n: int, mean_n: float) -> float:
        for bound, weight in self.steps:
            if n > (bound * mean_n if self.relative else bound):
                return weight
        return self.floor


#: openair trajLevel PSCF weights on N vs the mean n̄: N > 2n̄ → 1; n̄ < N ≤ 2n̄ → 0.75;
#: n̄/2 < N ≤ n̄ → 0.5; N ≤ n̄/2 → 0.15 (B6; the literature's 1/0.70/0.42/0.17 at 3n̄/1.5n̄/n̄ is
#: another table of this shape)
PSCF_WEIGHTS = StepWeights(((2.0, 1.0), (1.0, 0.75), (0.5, 0.5)), 0.15, relative=True)
#: openair CWT weights: N > 80 → 1; 20 < N ≤ 80 → 0.7; 10 < N ≤ 20 → 0.42; N ≤ 10 → 0.05 (B6)
CWT_WEIGHTS = StepWeights(((80.0, 1.0), (20.0, 0.7), (10.0, 0.42)), 0.05, relative=False)


def pscf(
    cells: Mapping[str, Sequence[float]],
    percentile: float = 90.0,
    weights: StepWeights = PSCF_WEIGHTS,
) -> tuple[float, float, pd.DataFrame]:
    """PSCF_ij = m_ij/n_ij per cell (B6): (threshold, mean N, table N, m, pscf, w, wpscf)."""
    every = (
        np.concatenate([np.asarray(v, dtype=float) for v in cells.values()])
        if cells
        else np.array([])
    )
    threshold = float(percentile_type7(every, percentile)[0])
    counts = {cell: len(values) for cell, values in cells.items()}
    mean_n = float(np.mean(list(counts.values())))
    rows = []
    for cell, values in cells.items():
        n = counts[cell]
        m = int((np.asarray(values, dtype=float) > threshold).sum())
        w = weights.weight(n, mean_n)
        rows.append({"cell": cell, "N": n, "m": m, "pscf": m / n, "w": w, "wpscf": w * m / n})
    return threshold, mean_n, pd.DataFrame(rows).set_index("cell")


def cwt(cells: Mapping[str, Sequence[float]], weights: StepWeights = CWT_WEIGHTS) -> pd.DataFrame:
    """CWT_ij = Σ C_l·τ_ijl / Σ τ_ijl per cell (B6; with τ the endpoint count, the mean of the
    endpoints' concentrations): table N, cwt, w, wcwt."""
    rows = []
    for cell, values in cells.items():
        array = np.asarray(values, dtype=float)
        if array.size == 0:
            raise InputError(f"cell {cell} has no endpoint")
        w = weights.weight(array.size, 0.0)
        rows.append(
            {
                "cell": cell,
                "N": array.size,
                "cwt": float(array.mean()),
                "w": w,
                "wcwt": w * float(array.mean()),
            }
        )
    return pd.DataFrame(rows).set_index("cell")


def pmf_q(
    x: np.ndarray, g: np.ndarray, f: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """(G·F, residual X − G·F, Q = Σ((x − Σ g·f)/u)²) of a PMF solution (B7)."""
    x, g, f, u = (np.asarray(a, dtype=float) for a in (x, g, f, u))
    if g.shape[1] != f.shape[0] or x.shape != (g.shape[0], f.shape[1]) or u.shape != x.shape:
        raise InputError(f"shapes do not match: X {x.shape}, G {g.shape}, F {f.shape}, U {u.shape}")
    if (u <= 0).any():
        raise InputError("every uncertainty must be positive")
    fitted = g @ f
    residual = x - fitted
    return fitted, residual, float(((residual / u) ** 2).sum())


def pmf_q_expected(n_samples: int, n_species: int, p_factors: int, weak_species: int = 0) -> int:
    """Q_expected = n·m − p·(n + m) with m the species that are not weak (EPA PMF 5 user guide:
    the data values less the elements of G and F, taking the weak species into account)."""
    strong = n_species - weak_species
    return n_samples * strong - p_factors * (n_samples + strong)


def pmf_uncertainty(conc: np.ndarray, mdl: np.ndarray, error_fraction: np.ndarray) -> np.ndarray:
    """EPA PMF 5 equation-based uncertainty (B7): 5/6·MDL at or below the MDL, else
    √((EF·C)² + (0.5·MDL)²), in the unit of C."""
    c, mdl, ef = (np.asarray(a, dtype=float) for a in (conc, mdl, error_fraction))
    return np.where(c <= mdl, 5.0 / 6.0 * mdl, np.sqrt((ef * c) ** 2 + (0.5 * mdl) ** 2))


def signal_to_noise(x: Sequence[float], u: Sequence[float]) -> tuple[np.ndarray, float, str]:
    """(d, S/N, category) of one species (B7, ESAT's data handler): d = (x − u)/u where x > u
    else 0; S/N = mean d; "bad" below 0.5 (dropped), "weak" below 1 (uncertainty ×3), else
    "strong" (EPA guidance)."""
    xa, ua = np.asarray(x, dtype=float), np.asarray(u, dtype=float)
    d = np.where(xa > ua, (xa - ua) / ua, 0.0)
    sn = float(d.mean())
    return d, sn, "bad" if sn < 0.5 else ("weak" if sn < 1.0 else "strong")
